package peak

import "math"

// How a snapshot after a GC the program forced is read: whether it holds
// the GC's early publication, and which mark its pair describes.

// freedSince is what top's records published of frees since base's,
// unbiased one record at a time.
func (a *Accountant) freedSince(base, top records) int64 {
	var freed int64
	for i, n := 0, top.len(); i < n; i++ {
		objs := top.free(i) - base.free(i)
		_, f := a.unbias(objs, objs*top.t.size(i))
		freed += f
	}
	return freed
}

// nearerMarkBefore tells, for the pair of a regular snapshot and the next
// one, of a forced GC published early, which mark the pair describes. It
// holds every allocation before the forced mark and the frees of the
// sweeps before the mark before it: the heap at the forced mark plus what
// the sweep before it freed, or the heap at the mark before plus what was
// allocated between the two marks. The exact readings bound each: what was
// allocated from the last reading before the mark before to the reading
// after the forced GC, at least what was allocated between the marks, and
// what the sweep before the forced mark freed by the last reading before
// it, at most all it freed. When the first is within tightSlack of the
// pair and less than the second, the pair is the mark before's heap (a
// program whose GC found its data dead, followed at once by its own
// runtime.GC).
func (a *Accountant) nearerMarkBefore(s Snapshot, sampled int64) bool {
	if a.prevPub == pubEarly || !s.End.Known() || !s.Now.Known() || !a.prevSnap.End.Known() {
		return false
	}
	before := a.prevSnap.End
	if s.Now.Allocs < before.Allocs || s.End.Frees < before.Frees {
		return false
	}
	allocated, freed := s.Now.Allocs-before.Allocs, s.End.Frees-before.Frees
	return allocated <= tightSlack(sampled) && allocated < freed
}

// publishedEarly tells whether a snapshot taken after a forced GC already
// holds the GC's early publication. Two figures tell, each sampled, each
// expected by either answer from the runtime's exact readings:
//
//   - its in-use bytes: what that GC found live (s.Now.Live) if published,
//     else what the GC before it found (s.End.Live);
//   - the frees published since the previous snapshot: up to the forced
//     GC's sweep (s.Now.Frees) if published, else up to the sweep before,
//     less what the previous snapshot held; a sweep's total is bounded by
//     the readings either side of the next mark, so these are ranges.
//
// The answer whose expectations are nearer, in standard deviations of the
// sampling error (none inside a range), wins. A forced GC that only drops garbage leaves the live
// heap as it was, and only the frees can tell; one that drops live data
// and frees little is told by the in-use bytes. Without the readings it is
// taken as published early, the usual case.
func (a *Accountant) publishedEarly(s Snapshot, cur records, sum sums) bool {
	adjacent := a.havePrev && s.Cycle == a.prevSnap.Cycle+1
	if adjacent && a.prevSnap.Cycle == 0 && sum == a.prevSums {
		// The first GC, forced, after the tracker's first snapshot: its
		// early publication would hold what was allocated since, and a
		// snapshot the same as the first holds nothing new.
		return false
	}
	var freed int64
	inuse := a.inUse(cur)
	if !s.Now.Known() || s.Now.Live == 0 {
		// No reading of what the forced GC found live (another GC ended
		// before the tracker read): in-use bytes that are what the GC
		// before found live say the publication had not landed yet.
		if s.End.Known() && s.End.Live > 0 {
			d := math.Abs(float64(inuse) - float64(s.End.Live))
			size := math.Max(float64(inuse), float64(s.End.Live))
			return d > 3*samplingSD(a.Rate, size)+readingSlack(size)
		}
		return true
	}
	if adjacent {
		freed = a.freedSince(a.prev, cur)
	}
	// off is how far a sampled figure is from an expected one, squared, in
	// standard deviations of the sampling error (about sqrt(rate × size)
	// bytes, and 1% or 64 KiB for what the readings miss).
	off := func(sampled int64, want uint64) float64 {
		size := math.Max(float64(sampled), float64(want))
		sd := samplingSD(a.Rate, size) + readingSlack(size)
		d := (float64(sampled) - float64(want)) / sd
		return d * d
	}
	// within is off from the nearest end of [lo, hi], 0 inside it.
	within := func(sampled int64, lo, hi int64) float64 {
		if hi < 0 {
			hi = 0
		}
		switch {
		case sampled < lo:
			return off(sampled, uint64(lo))
		case sampled > hi:
			return off(sampled, uint64(hi))
		}
		return 0
	}
	// End.Live is 0 before the first GC: nothing was marked.
	if s.End.Known() {
		early, regular := off(inuse, s.Now.Live), off(inuse, s.End.Live)
		// The frees each answer expects published since the previous
		// snapshot. What the sweeps up to n−1 freed lies between the
		// readings either side of mark n (a sweep is over before the
		// next mark; a reading before that mark may precede the sweep's
		// end, and is no total). The forced GC's own sweep is over when
		// it publishes, and the reading with the snapshot follows it.
		wc, base, ok := a.freesWindows(s)
		if adjacent && ok {
			now := int64(s.Now.Frees)
			lo, hi := int64(base.before.Frees), int64(base.after.Frees)
			early += within(freed, now-hi, now-lo)
			if a.prevPub == pubEarly {
				regular += off(freed, 0)
			} else {
				regular += within(freed, int64(wc.before.Frees)-hi, int64(wc.after.Frees)-lo)
			}
		}
		return early <= regular
	}
	// Without the reading before the mark (a cycle went unseen), the
	// in-use bytes must match the forced GC's live heap to within what
	// sampling explains.
	d := math.Abs(float64(inuse) - float64(s.Now.Live))
	size := math.Max(float64(inuse), float64(s.Now.Live))
	return d <= 3*samplingSD(a.Rate, size)+readingSlack(size)
}

// freesWindows are the readings around the forced snapshot's mark (wc),
// and around the mark before which the previous snapshot's frees were
// published (base), which bound the frees each answer of publishedEarly
// expects; ok when both are known.
func (a *Accountant) freesWindows(s Snapshot) (wc, base window, ok bool) {
	wc, okC := a.marks.at(s.Cycle)
	okBase := false
	switch {
	case a.prevPub == pubEarly:
		// Published early itself: up to the sweep before this mark.
		base, okBase = wc, okC
	case a.prevSnap.Cycle == 0:
		// Taken before any GC: no sweep had freed anything.
		okBase = true
	default:
		base, okBase = a.marks.at(a.prevSnap.Cycle)
	}
	return wc, base, okC && okBase
}
