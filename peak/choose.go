package peak

// Choosing the peak among the heaps the pairs account.

// offer records p and makes it the peak if the process held more memory at
// its moment than at the peak's; ties go to the earlier. An approximate
// pair is an upper bound. With a peak found, it becomes the peak only when
// a reading within its span (Least) held more than the most the process is
// known to have held (the floor: every exact pair's memory and every
// approximate pair's Least), by more than margin. An exact pair replaces
// an approximate peak when it holds at least the floor.
func (a *Accountant) offer(p Peak) bool {
	if a.carry {
		a.carry = false
		p.carryLive(a.carried)
		a.carried = Peak{}
	}
	if a.Trace != nil {
		a.Trace(p)
	}
	a.Paired++
	a.last, a.haveLast = p, true
	floor := a.floor
	a.raiseFloor(p)
	if p.Approximate {
		if !a.hasBound || p.Memory() > a.bound.Memory() {
			a.bound, a.hasBound = p, true
		}
		if a.havePeak {
			if !p.Least.Known() || p.Least.Held() <= floor.Held()+margin(floor.Heap) {
				return false
			}
			a.peak = p
			return true
		}
	} else if a.havePeak && a.peak.Approximate {
		if floor.Known() && !holdsAsMuch(p, floor) {
			return false
		}
		a.peak = p
		return true
	}
	// Ties go to the moment whose stacks account for more of it (a pair
	// across unseen cycles counts up to a reading after its mark), then to
	// the earlier, but for the same mark accounted again, whose later
	// figures are the mark's (a forced GC's early publication seen by a
	// second snapshot).
	if a.havePeak {
		pm, qm := p.Memory(), a.peak.Memory()
		if pm < qm || pm == qm && p.Cycle != a.peak.Cycle && p.Bytes <= a.peak.Bytes {
			return false
		}
	}
	a.peak = p
	a.havePeak = true
	return true
}

// raiseFloor makes the floor, the reading (or exact pair's moment) with the
// most memory the process is known to have held, p's when it held more:
// an exact pair's moment, or an approximate pair's Least.
func (a *Accountant) raiseFloor(p Peak) {
	m := p.Least
	if !p.Approximate {
		m = p.Moment()
		m.Heap = p.heap()
	}
	if m.Known() && m.Held() > a.floor.Held() {
		a.floor = m
	}
}

// holdsAsMuch reports whether the exact pair p held at least what the
// floor reading did, heap and memory outside it. A pair whose moment has
// no reading of the memory outside the heap is known to have held its
// heap only.
func holdsAsMuch(p Peak, floor Memory) bool {
	return p.Memory() >= floor.Held()
}

// Outside offers m, a reading taken after the peak's moment with no GC
// since, for memory outside the heap (mmap, cgo) that grew while the heap
// stood still. When the heap is still the peak's (within sameHeap of its
// exact figure, and at most sameHeap allocated since the peak's moment)
// and the process held at least sameHeap more outside it, m becomes the
// peak's moment (Peak.Later) and Outside reports true: the attribution
// stands, and no GC is needed to account the heap again.
func (a *Accountant) Outside(m Memory) bool {
	if !a.havePeak || a.peak.Approximate {
		return false
	}
	at, exact := a.peak.Moment(), a.peak.Exact()
	if !at.Known() || !m.Known() || exact == 0 || m.At <= at.At || m.Allocs < at.Allocs {
		return false
	}
	tol := margin(exact)
	if m.Allocs-at.Allocs > tol || m.Heap > exact+tol || m.Heap+tol < exact || m.Outside() < at.Outside()+sameHeap {
		return false
	}
	a.peak.Later = m
	return true
}

// Last returns the most recently accounted heap and whether there is one;
// its Stacks are in no particular order.
func (a *Accountant) Last() (Peak, bool) {
	return a.last, a.haveLast
}

// Peak returns the largest heap accounted so far and whether there is one.
func (a *Accountant) Peak() (Peak, bool) {
	if a.havePeak && !a.peak.sorted {
		a.peak.sort()
	}
	return a.peak, a.havePeak
}

// Bound returns the largest upper bound from pairs across cycles the
// tracker did not see, and whether there is one. When it exceeds the peak,
// the peak may have fallen among those cycles.
func (a *Accountant) Bound() (Peak, bool) {
	if a.hasBound && !a.bound.sorted {
		a.bound.sort()
	}
	return a.bound, a.hasBound
}
