package peak

// Accountant pairs adjacent snapshots and keeps the largest heap seen. It is
// not safe for concurrent use: one goroutine owns it. The Stacks of the
// Peaks it returns or passes to Trace are its own buffers, reused: they
// hold until the next Add.
type Accountant struct {
	// Rate is the sampling rate the snapshots were taken with
	// (runtime.MemProfileRate), used to unbias them.
	Rate int
	// Table keeps the records between snapshots; nil, the Accountant
	// makes its own. A snapshot of Counts must be read into it.
	Table *Table
	buffers

	prev     records
	prevSnap Snapshot
	// older is the snapshot before prev, of the cycle before; nil if none.
	older    records
	prevSums sums
	havePrev bool
	peak     Peak
	havePeak bool
	// bound is the largest upper bound (Bound), without its stacks.
	bound    Peak
	hasBound bool
	// floor is the reading with the most memory the process is known to
	// have held (offer): an exact pair's moment or an approximate pair's
	// Least. Nothing below it replaces the peak.
	floor    Memory
	last     Peak
	haveLast bool
	// prevPub is what the previous snapshot holds of its GC's frees.
	prevPub publication

	// marks keeps the readings around the last few marks, which bound
	// the runtime's exact heap at each.
	marks windows
	// carry says the next heap accounted takes its reachability from the
	// last (CarryLive), whose stacks carried holds: the last's own are
	// reused by the next Add.
	carry   bool
	carried Peak

	// Trace, if set, is called with every heap accounted.
	Trace func(Peak)

	// Paired counts the heaps accounted; Gaps counts the snapshots whose
	// predecessor was not from the cycle before (their pair is approximate);
	// Forced counts the GCs the program started itself.
	Paired, Gaps, Forced int
}

// publication is what a snapshot holds of the frees of its GC's sweep.
type publication uint8

const (
	// pubAtNextGC: none, as every regular cycle: a GC's sweep is published
	// at the next GC's mark, so a snapshot holds the frees of the sweeps
	// up to the cycle before its own.
	pubAtNextGC publication = iota
	// pubEarly: a GC the program forced published its sweep's frees as it
	// returned (mProf_PostSweep), and the snapshot holds them.
	pubEarly
	// pubBeforeEarly: a forced GC's snapshot taken before its early
	// publication landed: a regular snapshot, whose next one, of the same
	// cycle or the next, holds the forced mark.
	pubBeforeEarly
)

// Reset forgets the previous snapshot, so the next one starts a new pairing
// chain. The peak found so far is kept. Use it after a snapshot that is not
// the regular per-cycle state (for example right after runtime.GC, which
// publishes the sweep's frees early).
func (a *Accountant) Reset() {
	a.havePrev = false
	a.older = nil
	a.prevPub = pubAtNextGC
	a.prev = nil
}

// Add feeds the next snapshot. It returns true when the pairing with the
// previous snapshot produced a new peak.
func (a *Accountant) Add(s Snapshot) bool {
	cur := a.index(s)
	sum := cur.totals()
	if a.havePrev && s.Cycle == a.prevSnap.Cycle {
		return a.again(s, cur, sum)
	}
	a.marks.add(s.MarkBefore, s.MarkAfter)
	if s.Forced {
		a.Forced++
	}
	kind, pub := a.classify(s, cur, sum)
	if pub == pubBeforeEarly {
		// Taken before the early publication: a regular snapshot, whose
		// pair is the heap at the mark before. A second snapshot of the
		// cycle, or the next one, gives the forced mark.
		s.Forced = false
	}
	newPeak := false
	switch kind {
	case pairForcedEarly:
		newPeak = a.offer(a.pairForced(s, cur))
	case pairAdjacent:
		newPeak = a.offer(a.pairRegular(cur))
	case pairAcrossGap:
		a.Gaps++
		newPeak = a.offer(a.pairGap(s, cur))
	}
	a.remember(s, cur, sum, pub)
	return newPeak
}

// pairKind is how a snapshot pairs with the one before it, and so which
// heap their pair is.
type pairKind uint8

const (
	// pairNone: no pair: the first snapshot, the first after Reset, or
	// one whose pair would hold only the live heap (classify).
	pairNone pairKind = iota
	// pairAdjacent: the snapshot before is of the cycle before: the pair
	// is the heap at the mark between them (pairRegular). A forced GC's
	// snapshot taken before its early publication pairs so too.
	pairAdjacent
	// pairForcedEarly: a forced GC's snapshot holding its early
	// publication: the pair is the heap at the forced mark (pairForced).
	pairForcedEarly
	// pairAcrossGap: cycles went unseen between the two: the pair is
	// bounded, not exact (pairGap).
	pairAcrossGap
)

// classify says how s, the snapshot after the previous one's cycle, pairs
// with it, and what s holds of its GC's frees. It changes nothing.
func (a *Accountant) classify(s Snapshot, cur records, sum sums) (pairKind, publication) {
	pub := pubAtNextGC
	if s.Forced {
		pub = pubEarly
		if !a.publishedEarly(s, cur, sum) {
			pub = pubBeforeEarly
		}
	}
	switch {
	case !a.havePrev || s.Cycle <= a.prevSnap.Cycle:
		return pairNone, pub
	case s.Cycle > a.prevSnap.Cycle+1:
		return pairAcrossGap, pub
	case a.prevPub != pubAtNextGC && sum.allocBytes == a.prevSums.allocBytes:
		// The forced snapshot before was published early, so this pair
		// holds only the live heap: no allocation was published between
		// them (frees may have been, by a sweep still under way). When it
		// was taken for one taken before the publication, the same
		// allocations now say it was not: its pair is skipped too, lest
		// the live heap alone be given the forced mark's exact heap.
		return pairNone, pub
	case pub == pubEarly:
		return pairForcedEarly, pub
	}
	return pairAdjacent, pub
}

// remember keeps s as the previous snapshot for the next pairing.
func (a *Accountant) remember(s Snapshot, cur records, sum sums, pub publication) {
	adjacent := a.havePrev && s.Cycle == a.prevSnap.Cycle+1
	// An early-published snapshot holds one sweep's frees too many to
	// say what the next pair's sweep freed.
	a.older = nil
	if adjacent && !s.Forced && a.prevPub != pubEarly {
		a.older = a.prev
	}
	a.prevPub = pub
	a.prevSums = sum
	a.prev = cur
	a.prevSnap = s
	a.prevSnap.Records = nil
	a.prevSnap.Counts = nil
	a.havePrev = true
	a.settle()
}

// again takes a second snapshot of the cycle of the previous one. After a
// forced GC, a second snapshot that differs from the first was taken after
// the early publication and the first before it: the first holds the frees
// up to the sweep before the forced mark, the second the allocations up to
// the mark, and their pair is the heap at the forced mark exactly.
func (a *Accountant) again(s Snapshot, cur records, sum sums) bool {
	newPeak := false
	a.older = nil
	if s.Forced && sum != a.prevSums && (a.prevPub == pubBeforeEarly || a.prevPub == pubEarly && sum.allocBytes != a.prevSums.allocBytes) {
		// The first was taken before the early publication: the exact
		// live heaps said so, or allocations were published since. (When
		// the first was taken as published and only frees changed, a
		// sweep that was not over published them late: its pair stands.)
		p := a.pair(a.prev, cur, nil)
		p.dropEmpty()
		p.Cycle = s.Cycle
		p.At = a.prevSnap.Seen
		p.Before = a.prevSnap.Before
		p.Mark = a.prevSnap.End
		p.setExact(&a.marks)
		newPeak = a.offer(p)
		a.prevPub = pubEarly
	}
	a.prevSums = sum
	a.prev = cur
	a.settle()
	return newPeak
}

// CarryLive says the next heap accounted is the program's end after its
// main returned: nothing is reachable then, so a GC finds everything
// garbage, though the program held much of it until it ended. What the
// last heap accounted, the program's own last GC, found reachable is
// still in the heap at the end (only the end's own sweep could free it),
// and was in use then: it is counted live at the end too. What was
// allocated after that GC is not known to have been in use.
func (a *Accountant) CarryLive() {
	a.carry = a.haveLast && !a.last.Approximate
	if a.carry {
		a.carried = a.last
		a.carried.Stacks = append([]Stack(nil), a.last.Stacks...)
	}
}

// pairForced is the heap at the mark of a GC the program forced, from the
// previous snapshot and cur, this GC's, taken as published early.
func (a *Accountant) pairForced(s Snapshot, cur records) Peak {
	// Most likely published early: the pair ends at the forced
	// mark, and the reading with the snapshot holds the GC's live
	// heap and its whole sweep. If it was not published early,
	// the next pair holds that mark exactly.
	p := a.pair(a.prev, cur, nil)
	p.Cycle = s.Cycle
	p.At = s.Seen
	p.Before = s.Before
	p.Mark = s.End
	p.setExact(&a.marks)
	if a.nearerMarkBefore(s, p.Sampled) {
		// The forced GC came right after the one before, with next
		// to nothing allocated between their marks: the pair is
		// the heap at the mark before.
		p.Cycle = a.prevSnap.Cycle
		p.At = a.prevSnap.Seen
		p.Before = a.prevSnap.Before
		p.Mark = a.prevSnap.End
		p.setExact(&a.marks)
	}
	p.dropEmpty()
	return p
}

// pairRegular is the heap at the previous snapshot's mark, from it and
// cur, the next cycle's, each holding what its cycle publishes.
func (a *Accountant) pairRegular(cur records) Peak {
	p := a.pair(a.prev, cur, a.older)
	p.Cycle = a.prevSnap.Cycle
	p.At = a.prevSnap.Seen
	p.Before = a.prevSnap.Before
	p.Mark = a.prevSnap.End
	p.setExact(&a.marks)
	if p.MarkExact == 0 && !p.Before.Known() {
		// The cycle before was not seen: the reading taken just
		// after the mark, with its snapshot, is the nearest.
		p.Before = a.prevSnap.Now
	}
	// The moment before the mark is the cycle's largest when the
	// process held more then, heap and outside together, and the
	// heap was larger then than at the mark: larger than the
	// exact heap there, or than the most it can have been. A
	// sampled figure proves nothing of the kind.
	ref := p.MarkExact
	if ref == 0 {
		ref = p.MarkBounds.Hi
	}
	if a.older != nil && ref != 0 && p.Before.Heap > ref && p.Before.Heap+p.Before.Outside() > ref+p.Mark.Outside() {
		a.addUnswept(&p, a.prev, cur, a.older, int64(p.Before.Heap-ref))
	}
	p.dropEmpty()
	return p
}

// pairGap is the pair of the previous snapshot and cur, taken after
// cycles the tracker did not see: an upper bound on the heap at the marks
// it spans, exact when the readings show it counts next to nothing too
// much.
func (a *Accountant) pairGap(s Snapshot, cur records) Peak {
	// Cycles were missed: the pair spans several marks. It holds every
	// allocation up to the last of them and only the frees before the
	// first, so it bounds the heap at each of them from above, counting
	// also what the missed GCs freed.
	p := a.pair(a.prev, cur, nil)
	p.dropEmpty()
	// The pair always bounds the mark before the last: it holds at
	// least the allocations before it. It holds those before the last
	// mark only after that GC's early publication, which only a GC the
	// program forced makes: across unseen cycles, that is known only
	// when every one of them was forced.
	p.Cycle = s.Cycle - 1
	if s.Forced && s.ForcedEvery {
		p.Cycle = s.Cycle
	}
	p.At = s.Seen
	p.Before = s.Before
	p.Approximate = true
	p.Gap = true
	// Every reading from the last one before the pair's first mark to
	// its last mark is within what both the pair and the exact bound
	// below count: the heap then was at most the bound, and at least
	// the largest of them. A forced snapshot's pair ends at its own
	// mark, with the readings of the cycle before it; a regular one's
	// at the mark before, which they follow.
	least := []Memory{a.prevSnap.End, a.prevSnap.Now, s.Since}
	if s.Forced {
		least = append(least, s.Before, s.End)
	}
	for _, m := range least {
		if m.Known() && m.Held() > p.Least.Held() {
			p.Least = m
		}
	}
	a.boundGap(&p, s)
	return p
}

// boundGap bounds p, the pair across unseen cycles ending at s, by the
// exact counters, and takes it as exact when they show it counts next to
// nothing too much, or that a reading within its span held as much.
func (a *Accountant) boundGap(p *Peak, s Snapshot) {
	if !s.Now.Known() || !a.prevSnap.End.Known() || s.Now.Allocs <= a.prevSnap.End.Frees || s.Now.Frees < a.prevSnap.End.Frees {
		return
	}
	// The same bound from the exact counters: everything allocated
	// by now less what was freed before the first mark.
	p.Before = s.Now
	p.Before.Heap = s.Now.Allocs - a.prevSnap.End.Frees
	if !s.Forced && s.End.Known() && s.End.Allocs > a.prevSnap.End.Frees && s.End.Allocs < s.Now.Allocs {
		// The pair's mark is the one before this snapshot's, and
		// the last reading of that cycle followed it: what was
		// allocated by then bounds the pair more tightly.
		p.Before.Heap = s.End.Allocs - a.prevSnap.End.Frees
	}
	// The pair counts too much by what the sweeps it spans freed,
	// at most all that was freed since: when that is little, the
	// bound is the heap at its last mark to within it.
	p.Slack = s.Now.Frees - a.prevSnap.End.Frees
	// The bound also counts what was allocated after the pair's
	// last mark, up to now: only when it agrees with the pair, to
	// within that slack and what sampling explains, is the pair's
	// moment the bound's. Otherwise the program allocated much
	// after the mark (a tracker that did not run for a while), and
	// the bound is no figure for the pair's heap.
	sampling := samplingError(a.Rate, float64(p.Sampled))
	agrees := p.Sampled > 0 && p.Before.Heap <= uint64(p.Sampled)+tightSlack(p.Sampled)+uint64(sampling)
	if p.Slack <= tightSlack(p.Sampled) && agrees {
		p.Approximate = false
		if s.Forced {
			p.setExact(&a.marks)
		}
	}
	if p.Least.Heap > p.Before.Heap {
		// Only counters gone wrong put a reading above the bound:
		// it says nothing then.
		p.Least = Memory{}
	}
	if l := p.Least; p.Approximate && agrees && l.Known() && p.Before.Heap-l.Heap <= tightSlack(p.Sampled) {
		// A reading within the span found the heap as large as the
		// bound, to within tightSlack: at that moment the heap held
		// what the bound counts, and so what the pair counts, to
		// within that. The pair is the heap at that reading: it
		// counts as much as the bound (agrees), so it missed next to
		// nothing allocated after its last mark and before the
		// reading.
		p.Approximate = false
		p.Before = l
	}
}
