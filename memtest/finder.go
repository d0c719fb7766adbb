package memtest

// A reading is one read of the runtime's heap counters (runtime/metrics),
// all from the same call.
type reading struct {
	cycles uint64 // GC cycles completed: /gc/cycles/total:gc-cycles
	frees  uint64 // bytes freed by sweeps, cumulative: /gc/heap/frees:bytes
	live   uint64 // bytes the last GC marked: /gc/heap/live:bytes
}

// An observation is what the watcher learned of one GC cycle N: the live
// heap its mark found (exact, from runtime/metrics) and the bytes freed
// by the sweeps of the cycles before it, as a heap profile snapshot taken
// within cycle N estimates them (sampled, unbiased). The heap profile
// publishes a sweep's frees at the next mark termination, so the
// estimate counts the sweeps up to N−1, whenever in cycle N the snapshot
// was taken.
type observation struct {
	cycle uint64
	live  uint64
	freed float64
}

// A candidate is a figure for the heap at one GC cycle's mark.
type candidate struct {
	bytes uint64
	cycle uint64
	// atMark tells a heap at a mark (live and garbage) from a live heap
	// alone, the lower bound a cycle gives when the next one was not
	// observed.
	atMark bool
}

// finder finds the largest heap at a GC mark over a series of
// observations. The heap at mark N is what the mark found live and what
// sweep N then freed; the heap in objects is largest at a mark, but for
// garbage a lazy sweep has not freed yet, whose amount depends on when
// the sweeper ran:
//
//	heap at mark N = live(N) + freed(N+1) − freed(N)
//
// A cycle whose successor was not observed (the watcher missed a cycle)
// gives its live heap alone, and is counted in skipped.
type finder struct {
	started bool
	last    observation
	best    candidate
	closed  uint64 // cycles closed with a heap at their mark
	skipped uint64 // cycles closed with their live heap alone
}

// add takes the next observation and tells whether it made a new
// largest candidate.
func (f *finder) add(o observation) (newBest bool) {
	switch {
	case !f.started:
		f.started = true
	case o.cycle <= f.last.cycle:
		// A cycle is observed once; the count never goes back.
		return false
	case o.cycle == f.last.cycle+1:
		newBest = f.closeLast(o.freed)
	default:
		f.skipped += o.cycle - f.last.cycle
	}
	f.last = o
	if f.offer(candidate{bytes: o.live, cycle: o.cycle}) {
		newBest = true
	}
	return newBest
}

// end closes the series with the observation after a forced GC
// (runtime.GC), which publishes the frees of its own sweep too. garbage
// is what the sweeps since the last observed cycle's settled freed,
// counted exactly: the forced cycle's, and that of a cycle under way
// when runtime.GC was called, which it completes first. Nothing of the
// test runs between those two marks, so the heap at the first is about
// the live heap after the second and both garbages.
func (f *finder) end(o observation, garbage uint64) (newBest bool) {
	if !f.started || o.cycle <= f.last.cycle {
		return f.add(o)
	}
	newBest = f.closeLast(o.freed - float64(garbage))
	f.last = o
	if f.offer(candidate{bytes: o.live + garbage, cycle: o.cycle, atMark: true}) {
		newBest = true
	}
	return newBest
}

// closeLast computes the heap at the last observed cycle's mark, given
// the frees the next cycle's snapshot counts.
func (f *finder) closeLast(freed float64) bool {
	f.closed++
	garbage := freed - f.last.freed
	if garbage < 0 {
		garbage = 0
	}
	return f.offer(candidate{bytes: f.last.live + uint64(garbage), cycle: f.last.cycle, atMark: true})
}

func (f *finder) offer(c candidate) bool {
	if c.bytes <= f.best.bytes {
		return false
	}
	f.best = c
	return true
}
