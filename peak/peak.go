// Package peak turns a series of heap-profile snapshots, one per GC cycle,
// into the heap at each GC's mark termination, attributed per allocation
// stack, and keeps the largest: the peak.
//
// It runs inside the profiled program, so it imports only the standard
// library and keeps to the Go 1.19 language.
//
// # How the runtime publishes the heap profile
//
// runtime.MemProfile returns cumulative counts of sampled allocations and
// frees, one record per allocation stack and allocation size: a line that
// allocates many sizes (append growth, strings, maps, buffers) has one
// record per size, all with the same stack. Records are paired and unbiased
// one (stack, size) at a time, then summed per stack.
//
// The counts are published per GC cycle (see src/runtime/mprof.go): a
// snapshot S_N taken after GC N and before GC N+1 holds the allocations
// made before mark termination N−1 and the frees made by the sweeps up to
// cycle N−1. So
//
//	heap at mark N, per record = S_{N+1}.alloc − S_N.free
//
// while what GC N found live is S_{N+1}.alloc − S_{N+1}.free, and what its
// sweep freed, garbage at the mark, S_{N+1}.free − S_N.free.
//
// # The runtime's exact figures for the same moment
//
// Each snapshot carries the tracker's last reading of the runtime's exact
// figures before the mark that begins its cycle (Snapshot.End): the live
// heap the previous GC marked and the cumulative bytes freed. The heap at
// mark N is exactly live_N + (freed by sweep N), and sweep N is over before
// GC N+1 starts, so the readings just before marks N and N+1 give it
// (Peak.MarkExact). The sampled pair, before any correction, is checked
// against it.
//
// # Where the heap is largest
//
// Memory is freed only by sweeping, and sweeping is lazy: just before a GC
// the heap can hold garbage of the cycle before that is not swept yet, more
// than at the mark. When the largest exact reading before mark N
// (Snapshot.Before) exceeds the heap at the mark, that reading is the
// cycle's largest moment; the stacks are then given the part of what the
// sweep before mark N freed from each (S_N.free − S_{N−1}.free) that
// accounts for the difference, the same share from every record, and the
// peak says so (Peak.Unswept, a named correction).
//
// # Snapshots that do not follow one another
//
// A GC the program starts itself (runtime.GC) publishes its sweep early;
// the Accountant detects it from Snapshot.Forced and from whether the next
// snapshot, or a second one of the same cycle, differs. Snapshots whose
// cycle numbers are not adjacent are paired as an upper bound, flagged
// Approximate. Such a pair becomes the peak only when one of the
// tracker's readings within its span held more than any exact pair
// (Peak.Least); otherwise Accountant.Bound keeps the largest of them.
//
// Usage:
//
//	var a peak.Accountant
//	a.Rate = 64 << 10
//	for snap := range snapshots { // one per GC cycle, in order
//		if a.Add(snap) {
//			write(a.Peak())
//		}
//	}
package peak

import (
	"math"
	"runtime"
	"time"
)

// Snapshot is one consistent copy of runtime.MemProfile, taken while the GC
// count was Cycle.
type Snapshot struct {
	// Cycle is the number of completed GC cycles when the snapshot was taken.
	Cycle uint32
	// Seen is when the tracker first saw the GC count reach Cycle: the time of
	// mark termination Cycle, to within the tracker's polling interval.
	Seen time.Duration
	// Before is the reading with the largest exact heap taken while the GC
	// count was Cycle−1, that is, before mark termination Cycle. Zero if
	// unknown.
	Before Memory
	// End is the last reading taken while the GC count was Cycle−1, just
	// before mark termination Cycle: its Live is what GC Cycle−1 marked,
	// its Frees all that the sweeps up to Cycle−1 freed (a sweep is over
	// before the next GC starts). Zero if unknown.
	End Memory
	// Now is a reading taken with the snapshot (after a forced GC, whose
	// sweep is over when it returns, it holds the GC's live heap and all
	// that its sweep freed). Zero if unknown.
	Now Memory
	// Forced says that GC Cycle was started by the program (runtime.GC or
	// debug.FreeOSMemory). Such a GC publishes its sweep's frees as soon as it
	// returns (mProf_PostSweep), usually before the tracker's snapshot, which
	// then holds the allocations before mark Cycle and the frees of its
	// sweep. The pair ending at it is taken as the heap at mark Cycle (it
	// counts in addition what GC Cycle−1 freed), or, when next to nothing
	// was allocated between the two marks, as the heap at mark Cycle−1.
	// The next snapshot is then identical, and the pair after it, the live
	// heap only, is skipped; when
	// it is not identical the forced snapshot was regular and the next pair
	// holds mark Cycle exactly.
	Forced bool
	// Records is the MemProfile content. The Accountant keeps no reference
	// to it after Add returns.
	Records []runtime.MemProfileRecord
	// Counts, when not nil, is the snapshot instead of Records, read into
	// the Accountant's Table (Table.Begin): the latest read from it.
	Counts *Counts
	// Since, for a snapshot taken after GC cycles the tracker did not see
	// (Cycle more than one past the previous snapshot's), is the reading
	// with the largest exact heap taken since the previous snapshot, while
	// the GC count was still the previous snapshot's. Zero if unknown.
	Since Memory
}

// Memory is one reading of the process's memory. A zero Memory is unknown.
type Memory struct {
	At time.Duration
	// Heap is the runtime's exact figure for bytes in heap objects
	// (runtime/metrics /memory/classes/heap/objects:bytes).
	Heap uint64
	// Live is what the last GC marked (/gc/heap/live:bytes).
	Live uint64
	// Allocs and Frees are the cumulative bytes allocated and freed
	// (/gc/heap/allocs:bytes, /gc/heap/frees:bytes).
	Allocs, Frees uint64
	// RSS and RSSAnon are the resident set and its anonymous part.
	RSS, RSSAnon uint64
	// GoMapped and GoReleased are the runtime's /memory/classes/total and
	// /memory/classes/heap/released.
	GoMapped, GoReleased uint64
}

// Known reports whether m is a reading.
func (m Memory) Known() bool { return m.Heap != 0 }

// Held is the memory the process held at m: the Go heap and what is
// resident outside it.
func (m Memory) Held() uint64 { return m.Heap + m.Outside() }

// Outside is the resident memory the Go runtime does not account for: mmap,
// cgo's malloc, the binary.
func (m Memory) Outside() uint64 {
	if m.GoReleased > m.GoMapped {
		return 0
	}
	goRes := m.GoMapped - m.GoReleased
	if goRes >= m.RSS {
		return 0
	}
	return m.RSS - goRes
}

// Stack is one allocation stack's share of the heap at a mark termination,
// summed over its records (one per allocation size).
type Stack struct {
	// PCs are return addresses, leaf first, as runtime.MemProfileRecord.Stack
	// returns them.
	PCs []uintptr
	// Objects and Bytes are the heap at the moment, unbiased for sampling.
	Objects, Bytes int64
	// LiveObjects and LiveBytes are what that GC found still reachable.
	LiveObjects, LiveBytes int64
	// Records is how many (stack, size) records were summed.
	Records int
}

// Truncated reports whether the stack filled the runtime's 32-frame record
// and so may have lost its outermost frames.
func (s Stack) Truncated() bool {
	return len(s.PCs) >= len(runtime.MemProfileRecord{}.Stack0)
}

// Peak is the heap at one moment: a mark termination, or the largest
// reading just before it.
type Peak struct {
	// Cycle is the GC whose mark termination this is.
	Cycle uint32
	// At is when the mark was seen, relative to the tracker's start.
	At time.Duration
	// Bytes and Objects are the attribution's totals: Sampled plus the
	// Unswept correction.
	Bytes, Objects int64
	// Sampled is the unbiased sampled total of the snapshot pair, the heap
	// at the mark, before any correction.
	Sampled int64
	// LiveBytes is what that GC found reachable (sampled attribution).
	LiveBytes int64
	// Before is the reading with the largest exact heap before the mark.
	Before Memory
	// Mark is the reading nearest before the mark; MarkExact and MarkLive
	// the runtime's exact heap and live heap at the mark, 0 if unknown.
	Mark      Memory
	MarkExact uint64
	MarkLive  uint64
	// Unswept is what the correction for garbage not yet swept added to
	// Sampled, when the heap was larger before the mark than at it; the
	// moment is then Before.At.
	Unswept int64
	// Approximate says the pair spanned GC cycles the tracker did not see:
	// the figures are an upper bound. Slack, for such a pair, is the most it
	// can count too much (all the bytes freed since its first snapshot); a
	// pair whose Slack is within tightSlack is not Approximate.
	Approximate bool
	Slack       uint64
	// Least, for an approximate pair, is the reading with the most memory
	// among those taken within the span both it and its exact bound count
	// (from the last reading before its first mark to its last mark): the
	// heap was at least that. When it held more than anything known before
	// (Accountant.offer's floor), the pair is the peak, approximate as it
	// is. Zero if unknown.
	Least Memory
	// Later, when known, is a reading after the mark at which the heap was
	// still the mark's and the process held more memory outside it
	// (Accountant.Outside): it is then the peak's moment.
	Later Memory
	// Stacks are sorted by Bytes, largest first.
	Stacks []Stack
}

// Moment is the reading the peak's figures describe: a later one at which
// only the memory outside the heap had grown (Later), else the largest
// before the mark when the unswept correction applies, else the one
// nearest the mark.
func (p Peak) Moment() Memory {
	if p.Later.Known() {
		return p.Later
	}
	if p.Unswept > 0 || !p.Mark.Known() {
		return p.Before
	}
	return p.Mark
}

// Exact is the runtime's exact heap at the peak's moment, 0 if unknown.
func (p Peak) Exact() uint64 {
	if p.Unswept > 0 || p.MarkExact == 0 {
		return p.Before.Heap
	}
	return p.MarkExact
}

// Memory is what the process held at the peak's moment: the Go heap (the
// runtime's exact figure, else the sampled one) plus the memory outside it.
// Peaks are compared by it.
func (p Peak) Memory() uint64 {
	return p.heap() + p.Moment().Outside()
}

// heap is the Go heap at the peak's moment: the runtime's exact figure,
// else the sampled one.
func (p Peak) heap() uint64 {
	if h := p.Exact(); h != 0 || p.Bytes <= 0 {
		return h
	}
	return uint64(p.Bytes)
}

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
	// gapBase is the last reading before the first mark of the last pair
	// across unseen cycles (zero if unknown, or if the pair since was
	// adjacent), and gapFreed what its snapshots published of frees in
	// between (sampled, unbiased).
	gapBase  Memory
	gapFreed int64
	havePrev bool
	peak     Peak
	havePeak bool
	bound    Peak
	hasBound bool
	// floor is the reading with the most memory the process is known to
	// have held (offer): an exact pair's moment or an approximate pair's
	// Least. Nothing below it replaces the peak.
	floor    Memory
	last     Peak
	haveLast bool
	// afterForced says the previous snapshot followed a forced GC and was
	// published early; prevForcedRegular that it followed one but was
	// taken before the publication; pendingForced is prevForcedRegular
	// for the snapshot being added.
	afterForced, prevForcedRegular, pendingForced bool

	// Trace, if set, is called with every heap accounted.
	Trace func(Peak)

	// Paired counts the heaps accounted; Gaps counts the snapshots whose
	// predecessor was not from the cycle before (their pair is approximate);
	// Forced counts the GCs the program started itself.
	Paired, Gaps, Forced int
}

// Reset forgets the previous snapshot, so the next one starts a new pairing
// chain. The peak found so far is kept. Use it after a snapshot that is not
// the regular per-cycle state (for example right after runtime.GC, which
// publishes the sweep's frees early).
func (a *Accountant) Reset() {
	a.havePrev = false
	a.older = nil
	a.afterForced = false
	a.prev = nil
}

// offer records p and makes it the peak if the process held more memory at
// its moment than at the peak's; ties go to the earlier. An approximate
// pair is an upper bound. With a peak found, it becomes the peak only when
// a reading within its span (Least) held more than the most the process is
// known to have held (the floor: every exact pair's memory and every
// approximate pair's Least), by more than margin. An exact pair replaces
// an approximate peak when it holds at least the floor.
func (a *Accountant) offer(p Peak) bool {
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
	if a.havePeak && p.Memory() <= a.peak.Memory() {
		return false
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
// floor reading did: heap and memory outside it, or the heap alone when
// p's moment has no reading of the memory outside it.
func holdsAsMuch(p Peak, floor Memory) bool {
	if !p.Moment().Known() {
		return p.heap() >= floor.Heap
	}
	return p.Memory() >= floor.Held()
}

// Add feeds the next snapshot. It returns true when the pairing with the
// previous snapshot produced a new peak.
func (a *Accountant) Add(s Snapshot) bool {
	cur := a.index(s)
	sum := cur.totals()
	if a.havePrev && s.Cycle == a.prevSnap.Cycle {
		return a.again(s, cur, sum)
	}
	adjacent := a.havePrev && s.Cycle == a.prevSnap.Cycle+1
	newPeak := false
	skip := false
	if s.Forced {
		a.Forced++
		if !a.publishedEarly(s, cur) {
			// Taken before the early publication: a regular snapshot, whose
			// pair is the heap at the mark before. A second snapshot of
			// the cycle, or the next one, gives the forced mark.
			s.Forced = false
			a.pendingForced = true
		}
	}
	if (a.afterForced || a.prevForcedRegular) && adjacent && sum.allocBytes == a.prevSums.allocBytes {
		// The forced snapshot was published early, so the pair after it
		// holds only the live heap: no allocation was published between
		// them (frees may have been, by a sweep still under way). When it
		// was taken for one taken before the publication, the same
		// allocations now say it was not: its pair is skipped too, lest
		// the live heap alone be given the forced mark's exact heap.
		skip = true
	}
	if adjacent {
		a.gapBase = Memory{}
	}
	switch {
	case adjacent && !skip:
		var p Peak
		if s.Forced {
			// Most likely published early: the pair ends at the forced
			// mark, and the reading with the snapshot holds the GC's live
			// heap and its whole sweep. If it was not published early,
			// the next pair holds that mark exactly.
			p, _ = a.pair(a.prev, cur, nil)
			p.Cycle = s.Cycle
			p.At = s.Seen
			p.Before = s.Before
			p.Mark = s.End
			p.MarkExact, p.MarkLive = exactAtMark(s.Now, s.End)
			if a.nearerMarkBefore(s, p.Sampled) {
				// The forced GC came right after the one before, with next
				// to nothing allocated between their marks: the pair is
				// the heap at the mark before.
				p.Cycle = a.prevSnap.Cycle
				p.At = a.prevSnap.Seen
				p.Before = a.prevSnap.Before
				p.Mark = a.prevSnap.End
				p.MarkExact, p.MarkLive = exactAtMark(s.End, a.prevSnap.End)
			}
		} else {
			var g []garbage
			p, g = a.pair(a.prev, cur, a.older)
			p.Cycle = a.prevSnap.Cycle
			p.At = a.prevSnap.Seen
			p.Before = a.prevSnap.Before
			p.Mark = a.prevSnap.End
			p.MarkExact, p.MarkLive = exactAtMark(s.End, a.prevSnap.End)
			if p.MarkExact == 0 && !p.Before.Known() {
				// The cycle before was not seen: the reading taken just
				// after the mark, with its snapshot, is the nearest.
				p.Before = a.prevSnap.Now
			}
			ref := p.MarkExact
			if ref == 0 && p.Sampled > 0 {
				ref = uint64(p.Sampled)
			}
			// The moment before the mark is the cycle's largest when the
			// process held more then, heap and outside together, and the
			// heap was larger then than at the mark.
			if g != nil && p.Before.Heap > ref && p.Before.Heap+p.Before.Outside() > ref+p.Mark.Outside() {
				p.addUnswept(g, int64(p.Before.Heap-ref))
			}
		}
		p.sort()
		newPeak = a.offer(p)
	case a.havePrev && s.Cycle > a.prevSnap.Cycle && !adjacent:
		// Cycles were missed: the pair spans several marks. It holds every
		// allocation up to the last of them and only the frees before the
		// first, so it bounds the heap at each of them from above, counting
		// also what the missed GCs freed.
		a.Gaps++
		a.gapBase, a.gapFreed = a.prevSnap.End, a.freedSince(a.prev, cur)
		p, _ := a.pair(a.prev, cur, nil)
		p.sort()
		p.Cycle = s.Cycle - 1
		if s.Forced {
			p.Cycle = s.Cycle
		}
		p.At = s.Seen
		p.Before = s.Before
		p.Approximate = true
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
		if s.Now.Known() && a.prevSnap.End.Known() && s.Now.Allocs > a.prevSnap.End.Frees && s.Now.Frees >= a.prevSnap.End.Frees {
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
			sampling := 3 * math.Sqrt(math.Max(float64(a.Rate), 1)*math.Max(float64(p.Sampled), 0))
			agrees := p.Sampled > 0 && p.Before.Heap <= uint64(p.Sampled)+tightSlack(p.Sampled)+uint64(sampling)
			if p.Slack <= tightSlack(p.Sampled) && agrees {
				p.Approximate = false
				if s.Forced {
					p.MarkExact, p.MarkLive = s.Now.Live+p.Slack, s.Now.Live
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
		newPeak = a.offer(p)
	}
	// An early-published snapshot holds one sweep's frees too many to
	// say what the next pair's sweep freed.
	a.older = nil
	if adjacent && !s.Forced && !a.afterForced {
		a.older = a.prev
	}
	a.afterForced = s.Forced
	a.prevForcedRegular = a.pendingForced
	a.pendingForced = false
	a.prevSums = sum
	a.prev = cur
	a.prevSnap = s
	a.prevSnap.Records = nil
	a.prevSnap.Counts = nil
	a.havePrev = true
	a.settle()
	return newPeak
}

// again takes a second snapshot of the cycle of the previous one. After a
// forced GC, a second snapshot that differs from the first was taken after
// the early publication and the first before it: the first holds the frees
// up to the sweep before the forced mark, the second the allocations up to
// the mark, and their pair is the heap at the forced mark exactly.
func (a *Accountant) again(s Snapshot, cur records, sum sums) bool {
	newPeak := false
	a.older = nil
	if s.Forced && sum != a.prevSums && (a.prevForcedRegular || a.afterForced && sum.allocBytes != a.prevSums.allocBytes) {
		// The first was taken before the early publication: the exact
		// live heaps said so, or allocations were published since. (When
		// the first was taken as published and only frees changed, a
		// sweep that was not over published them late: its pair stands.)
		a.prevForcedRegular = false
		p, _ := a.pair(a.prev, cur, nil)
		p.sort()
		p.Cycle = s.Cycle
		p.At = a.prevSnap.Seen
		p.Before = a.prevSnap.Before
		p.Mark = a.prevSnap.End
		p.MarkExact, p.MarkLive = exactAtMark(s.Now, a.prevSnap.End)
		if p.MarkExact == 0 && !a.prevSnap.End.Known() && uint64(a.gapFreed) <= tightSlack(p.Sampled) {
			// The cycle before the forced one went unseen, so no reading
			// tells what was freed before its mark. Across the unseen
			// cycles next to nothing was freed, by the profile: all that
			// was freed since the last reading before them is the forced
			// GC's sweep, to within that.
			p.MarkExact, p.MarkLive = exactAtMark(s.Now, a.gapBase)
		}
		newPeak = a.offer(p)
		a.afterForced = true
	}
	a.prevSums = sum
	a.prev = cur
	a.settle()
	return newPeak
}

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
	if a.afterForced || !s.End.Known() || !s.Now.Known() || !a.prevSnap.End.Known() {
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
//     GC's sweep (s.Now.Frees) if published, else up to the sweep before
//     (s.End.Frees), less what the previous snapshot held.
//
// The answer whose expectations are nearer, in standard deviations of the
// sampling error, wins. A forced GC that only drops garbage leaves the live
// heap as it was, and only the frees can tell; one that drops live data
// and frees little is told by the in-use bytes. Without the readings it is
// taken as published early, the usual case.
func (a *Accountant) publishedEarly(s Snapshot, cur records) bool {
	if !s.Now.Known() || s.Now.Live == 0 {
		return true
	}
	adjacent := a.havePrev && s.Cycle == a.prevSnap.Cycle+1
	var freed int64
	inuse := a.inUse(cur)
	if adjacent {
		freed = a.freedSince(a.prev, cur)
	}
	rate := math.Max(float64(a.Rate), 1)
	// off is how far a sampled figure is from an expected one, squared, in
	// standard deviations of the sampling error (about sqrt(rate × size)
	// bytes, and 1% or 64 KiB for what the readings miss).
	off := func(sampled int64, want uint64) float64 {
		size := math.Max(float64(sampled), float64(want))
		sd := math.Sqrt(rate*size) + 0.01*size + 64<<10
		d := (float64(sampled) - float64(want)) / sd
		return d * d
	}
	// End.Live is 0 before the first GC: nothing was marked.
	if s.End.Known() {
		early, regular := off(inuse, s.Now.Live), off(inuse, s.End.Live)
		// What the previous snapshot held of the frees: up to the sweep
		// before the forced mark if it was published early itself, else up
		// to the sweep before its own mark.
		base, ok := s.End.Frees, a.afterForced
		switch {
		case ok:
		case a.prevSnap.End.Known():
			base, ok = a.prevSnap.End.Frees, true
		case a.prevSnap.Cycle == 0:
			// Taken before any GC: no sweep had freed anything.
			base, ok = 0, true
		}
		if adjacent && ok && s.Now.Frees >= s.End.Frees && s.End.Frees >= base {
			early += off(freed, s.Now.Frees-base)
			regular += off(freed, s.End.Frees-base)
		}
		return early <= regular
	}
	// Without the reading before the mark (a cycle went unseen), the
	// in-use bytes must match the forced GC's live heap to within what
	// sampling explains.
	d := math.Abs(float64(inuse) - float64(s.Now.Live))
	size := math.Max(float64(inuse), float64(s.Now.Live))
	return d <= 3*math.Sqrt(rate*size)+0.01*size+64<<10
}

// tightSlack is how much a pair across unseen cycles may count too much and
// still be taken as the heap at its last mark: 1% of it, or 256 KiB.
func tightSlack(sampled int64) uint64 {
	t := uint64(0)
	if sampled > 0 {
		t = uint64(sampled) / 100
	}
	if t < 256<<10 {
		t = 256 << 10
	}
	return t
}

// exactAtMark is the runtime's exact heap at a mark and the live heap it
// found, from a reading after the mark's sweep was over (after, whose Live
// is the mark's and whose Frees include its sweep) and the last reading
// before the mark (before, whose Frees include every earlier sweep): the
// live heap plus what the sweep freed. Zero when either is unknown.
func exactAtMark(after, before Memory) (heap, live uint64) {
	if !after.Known() || !before.Known() || after.Frees < before.Frees || after.Live == 0 {
		return 0, 0
	}
	return after.Live + (after.Frees - before.Frees), after.Live
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

// sameHeap is how far two readings of the heap may differ, or the bytes
// allocated between them, for the heap to be taken as the same (or 1% of
// it, if more).
const sameHeap = 1 << 20

// margin is sameHeap for a heap of n bytes: 1% of it, at least sameHeap.
func margin(n uint64) uint64 {
	if n/100 > sameHeap {
		return n / 100
	}
	return sameHeap
}

// Last returns the most recently accounted heap and whether there is one.
func (a *Accountant) Last() (Peak, bool) {
	return a.last, a.haveLast
}

// Peak returns the largest heap accounted so far and whether there is one.
func (a *Accountant) Peak() (Peak, bool) {
	return a.peak, a.havePeak
}

// Bound returns the largest upper bound from pairs across cycles the
// tracker did not see, and whether there is one. When it exceeds the peak,
// the peak may have fallen among those cycles.
func (a *Accountant) Bound() (Peak, bool) {
	return a.bound, a.hasBound
}
