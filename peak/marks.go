package peak

// The runtime's exact heap at a mark, proven by the readings around it.
//
// The tracker cannot read the runtime at the instant of a mark
// termination: it reads every few milliseconds, and on a busy machine it
// can be held off the CPU for much longer. So the heap at mark n is never
// taken from one reading. It is bounded by three identities, each holding
// whatever the readings' timing, and the bounds are intersected:
//
//   - by allocation: H(m_n) = L_{n−1} + A(m_n) − A(m_{n−1}), where L is what
//     a GC marked live (/gc/heap/live:bytes) and A the cumulative bytes
//     allocated. Sweep n−1 frees only what mark n−1 found dead, so the heap
//     at mark n is what that mark found live plus all allocated since.
//   - by frees: H(m_n) = L_n + F(m_{n+1}) − F(m_n), where F is the
//     cumulative bytes freed: sweep n frees exactly the garbage at mark n,
//     and is over before GC n+1 starts; nothing else frees heap objects.
//   - directly: H(m_n) = A(m_n) − F(m_n).
//
// A and F only grow, so A(m_n) lies between the last reading before mark n
// and the first after it, and so does F(m_n). Each identity then gives a
// lower and an upper bound. When the tightest bounds are within exactWidth
// of each other the heap at the mark is known, to within half that, and is
// their middle; otherwise it is unknown and nothing rests on it. This is
// the figure GODEBUG=gctrace=1 prints second for the same GC ("A->B->C
// MB"): the heap the GC found at its mark termination.
//
// A reading is a sample of the runtime taken at one moment. metrics.Read
// is not atomic, so the tracker retries a reading during which a GC ended
// (internal/memsource); within one GC count the figures are consistent.

// window is the pair of readings either side of one mark: before, the last
// taken while the GC count was one less than the mark's number; after, the
// first taken once it had reached it (or passed it, when cycles went
// unseen).
type window struct {
	mark          uint32
	before, after Memory
}

// windows keeps the readings around the last few marks, enough for the
// bounds on the heap at the mark before the newest.
type windows struct {
	w [4]window
}

// add records the readings around a mark. Marks with no reading before
// them (cycles the tracker did not see) are not recorded.
func (ws *windows) add(before, after Memory) {
	if !before.Known() || !after.Known() || after.Cycles <= before.Cycles {
		return
	}
	w := window{mark: before.Cycles + 1, before: before, after: after}
	ws.w[w.mark%uint32(len(ws.w))] = w
}

// at returns the readings around mark n, if known.
func (ws *windows) at(n uint32) (window, bool) {
	if n == 0 {
		return window{}, false
	}
	w := ws.w[n%uint32(len(ws.w))]
	return w, w.mark == n
}

// Bounds are a lower and an upper bound on a figure, in bytes; Hi is 0
// when no bound is known.
type Bounds struct {
	Lo, Hi uint64
}

// Known reports whether both bounds are known.
func (b Bounds) Known() bool { return b.Hi != 0 }

// Exact is the figure when the bounds are within exactWidth of each other:
// their middle, within half the width of the truth. 0 otherwise. The width
// is taken of the lower bound, which the truth is not below.
func (b Bounds) Exact() uint64 {
	if !b.Known() || b.Hi-b.Lo > exactWidth(b.Lo) {
		return 0
	}
	return b.Lo + (b.Hi-b.Lo)/2
}

// interval is a figure's bounds in signed arithmetic, so that a loose bound
// computed from distant readings cannot wrap around.
type interval struct {
	lo, hi int64
	ok     bool
}

func (v *interval) meet(lo, hi int64) {
	if !v.ok {
		*v = interval{lo, hi, true}
		return
	}
	if lo > v.lo {
		v.lo = lo
	}
	if hi < v.hi {
		v.hi = hi
	}
}

// frees bounds F at the window's mark: the readings either side, or
// exactly the reading before when it was taken while that GC marked (its
// start ends the sweeps before it, and its own sweep begins after the
// mark).
func (w window) frees() (lo, hi int64) {
	if w.before.Marking {
		return int64(w.before.Frees), int64(w.before.Frees)
	}
	return int64(w.before.Frees), int64(w.after.Frees)
}

// heapAt bounds the heap at mark n, and gives the live heap that mark
// found (0 if no reading of it is known).
func (ws *windows) heapAt(n uint32) (b Bounds, live uint64) {
	var v interval
	wn, okN := ws.at(n)
	if okN {
		// Directly: A(m_n) − F(m_n).
		fLo, fHi := wn.frees()
		v.meet(int64(wn.before.Allocs)-fHi, int64(wn.after.Allocs)-fLo)
		// By allocation, from the mark before: what it found live (read
		// while the count was n−1) and all allocated since. The process
		// starts with nothing allocated, at "mark 0".
		lPrev := int64(wn.before.Live)
		if n == 1 {
			lPrev = 0
			v.meet(int64(wn.before.Allocs), int64(wn.after.Allocs))
		} else if wp, ok := ws.at(n - 1); ok {
			v.meet(lPrev+int64(wn.before.Allocs)-int64(wp.after.Allocs), lPrev+int64(wn.after.Allocs)-int64(wp.before.Allocs))
		}
	}
	// What mark n found live: any reading while the count was n.
	wNext, okNext := ws.at(n + 1)
	switch {
	case okNext:
		live = wNext.before.Live
	case okN && wn.after.Cycles == n:
		live = wn.after.Live
	}
	if okN && okNext && live != 0 {
		// By frees: what mark n found live and what its sweep freed.
		l := int64(live)
		nLo, nHi := wn.frees()
		xLo, xHi := wNext.frees()
		v.meet(l+xLo-nHi, l+xHi-nLo)
	}
	if !v.ok || v.hi <= 0 {
		return Bounds{}, live
	}
	if v.lo < 0 {
		v.lo = 0
	}
	if v.lo > v.hi {
		// The cumulative allocations count a span's objects when the span
		// leaves a P's cache, so readings right at the marks can cross the
		// bounds by that much. Farther apart, only figures gone wrong
		// cross them: they prove nothing.
		if uint64(v.lo-v.hi) > exactWidth(uint64(v.lo)) {
			return Bounds{}, live
		}
		v.lo, v.hi = v.hi, v.lo
	}
	return Bounds{Lo: uint64(v.lo), Hi: uint64(v.hi)}, live
}
