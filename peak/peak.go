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
	// ForcedEvery says that every GC since the previous snapshot was
	// forced: after cycles the tracker did not see, Forced says only that
	// one of them was.
	ForcedEvery bool
	// Records is the MemProfile content. The Accountant keeps no reference
	// to it after Add returns.
	Records []runtime.MemProfileRecord
	// MarkBefore and MarkAfter are the readings either side of the first
	// mark since the previous snapshot: the last taken while the GC count
	// was still the previous snapshot's, and the first taken once it had
	// moved. The runtime's exact heap at each mark is bounded by them
	// (marks.go). Zero if unknown.
	MarkBefore, MarkAfter Memory
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
	// Cycles is the number of completed GC cycles when it was read.
	Cycles uint32
	// Marking says GC Cycles+1 was marking: it had started, so the
	// sweeps before it were over, and its own had not begun. Frees is
	// then all the sweeps before its mark freed, exactly.
	Marking bool
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
	// MarkExact is known only when the readings around the mark prove it
	// to within half of exactWidth (MarkBounds, marks.go).
	Mark       Memory
	MarkExact  uint64
	MarkLive   uint64
	MarkBounds Bounds
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
	// rate is the sampling rate the pair was unbiased at.
	rate int
	// Gap says the pair spans GC cycles the tracker did not see: Before
	// is then the bound the exact counters give, or the reading at which
	// the pair is exact.
	Gap bool
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
	// LiveFrom, when not zero, is the GC whose reachability LiveBytes and
	// the stacks' LiveBytes also count (CarryLive), at LiveFromAt.
	LiveFrom   uint32
	LiveFromAt time.Duration
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
// Where the heap at the mark is not known, it is the largest reading
// before the mark, which peaks are compared by (Memory), or 0 when the
// only reading is after the mark; Proven says whether it is the figure
// for the peak's moment itself.
func (p Peak) Exact() uint64 {
	if p.Unswept > 0 || p.MarkExact == 0 {
		if !p.Gap && p.Unswept == 0 && p.Before.Cycles >= p.Cycle && !p.near(p.Before.Heap) {
			// A reading taken after the mark (its cycle before went
			// unseen) holds what was allocated since: it is the heap at
			// the mark only when the pair counts as much, to within
			// tightSlack and sampling.
			return 0
		}
		return p.Before.Heap
	}
	return p.MarkExact
}

// Proven reports whether Exact is the runtime's figure for the peak's
// moment itself: the heap at the mark, proven by the readings around it,
// the reading before the mark that held more (Unswept), or the bound or
// reading of a pair across unseen cycles (Gap). Otherwise it is a reading
// before the mark, which is no figure for the mark.
func (p Peak) Proven() bool {
	return p.MarkExact != 0 || p.Unswept > 0 || p.Gap
}

// Memory is what the process held at the peak's moment: the Go heap (the
// runtime's exact figure, else the sampled one) plus the memory outside it.
// Peaks are compared by it.
func (p Peak) Memory() uint64 {
	return p.heap() + p.Moment().Outside()
}

// heap is the Go heap at the peak's moment: the runtime's exact figure
// when the readings prove it, else the reading nearest before the mark
// (Exact) held within the bounds the readings around the mark prove, when
// the pair agrees with them (it is that mark's pair), else the sampled
// figure. A reading before the mark is no figure for the mark: it may
// hold the garbage of the mark before, not yet swept, or less than was
// allocated by the mark.
func (p Peak) heap() uint64 {
	h := p.Exact()
	if h == 0 && p.Bytes > 0 {
		h = uint64(p.Bytes)
	}
	if b := p.MarkBounds; !p.Proven() && b.Known() && p.agreesWith(b) {
		switch {
		case h > b.Hi:
			h = b.Hi
		case h < b.Lo:
			h = b.Lo
		}
	}
	return h
}

// near reports whether a heap of h bytes, read after the pair's mark, is
// the pair's heap: at most tightSlack above it. Sampling error is not
// allowed for: a pair that counts less than the reading by more may have
// missed what was allocated after its mark, and its own figure is then
// the nearer.
func (p Peak) near(h uint64) bool {
	return p.Sampled > 0 && h <= uint64(p.Sampled)+tightSlack(p.Sampled)
}

// agreesWith reports whether the pair's sampled heap lies within b, to
// within what sampling explains (three standard deviations) and 1%: a pair
// that does not was given a mark it does not describe.
func (p Peak) agreesWith(b Bounds) bool {
	if p.Sampled <= 0 {
		return false
	}
	s := float64(p.Sampled)
	tol := samplingError(p.rate, s) + 0.01*s
	return s >= float64(b.Lo)-tol && s <= float64(b.Hi)+tol
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
	// prevPub is what the previous snapshot holds of its GC's frees.
	prevPub publication

	// marks keeps the readings around the last few marks, which bound
	// the runtime's exact heap at each.
	marks windows
	// carry says the next heap accounted takes its reachability from the
	// last (CarryLive).
	carry bool

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
		if a.haveLast && !a.last.Approximate {
			p.carryLive(a.last)
		}
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
		switch {
		case pm < qm:
			return false
		case pm > qm, p.Cycle == a.peak.Cycle, p.Bytes > a.peak.Bytes:
		default:
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

// Add feeds the next snapshot. It returns true when the pairing with the
// previous snapshot produced a new peak.
func (a *Accountant) Add(s Snapshot) bool {
	cur := a.index(s)
	sum := cur.totals()
	if a.havePrev && s.Cycle == a.prevSnap.Cycle {
		return a.again(s, cur, sum)
	}
	a.marks.add(s.MarkBefore, s.MarkAfter)
	adjacent := a.havePrev && s.Cycle == a.prevSnap.Cycle+1
	newPeak := false
	skip := false
	pub := pubAtNextGC
	if s.Forced {
		pub = pubEarly
		a.Forced++
		if !a.publishedEarly(s, cur, sum) {
			// Taken before the early publication: a regular snapshot, whose
			// pair is the heap at the mark before. A second snapshot of
			// the cycle, or the next one, gives the forced mark.
			s.Forced = false
			pub = pubBeforeEarly
		}
	}
	if a.prevPub != pubAtNextGC && adjacent && sum.allocBytes == a.prevSums.allocBytes {
		// The forced snapshot was published early, so the pair after it
		// holds only the live heap: no allocation was published between
		// them (frees may have been, by a sweep still under way). When it
		// was taken for one taken before the publication, the same
		// allocations now say it was not: its pair is skipped too, lest
		// the live heap alone be given the forced mark's exact heap.
		skip = true
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
		} else {
			var g []garbage
			p, g = a.pair(a.prev, cur, a.older)
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
			if g != nil && ref != 0 && p.Before.Heap > ref && p.Before.Heap+p.Before.Outside() > ref+p.Mark.Outside() {
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
		p, _ := a.pair(a.prev, cur, nil)
		p.sort()
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
		newPeak = a.offer(p)
	}
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
	if s.Forced && sum != a.prevSums && (a.prevPub == pubBeforeEarly || a.prevPub == pubEarly && sum.allocBytes != a.prevSums.allocBytes) {
		// The first was taken before the early publication: the exact
		// live heaps said so, or allocations were published since. (When
		// the first was taken as published and only frees changed, a
		// sweep that was not over published them late: its pair stands.)
		p, _ := a.pair(a.prev, cur, nil)
		p.sort()
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
		wc, okC := a.marks.at(s.Cycle)
		var base window
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
		if adjacent && okC && okBase {
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

// setExact bounds the runtime's exact heap at p's mark by the readings
// around it (marks.go), and sets the figure when the bounds prove it.
func (p *Peak) setExact(ws *windows) {
	p.MarkBounds, p.MarkLive = ws.heapAt(p.Cycle)
	p.MarkExact = p.MarkBounds.Exact()
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

// CarryLive says the next heap accounted is the program's end after its
// main returned: nothing is reachable then, so a GC finds everything
// garbage, though the program held much of it until it ended. What the
// last heap accounted, the program's own last GC, found reachable is
// still in the heap at the end (only the end's own sweep could free it),
// and was in use then: it is counted live at the end too. What was
// allocated after that GC is not known to have been in use.
func (a *Accountant) CarryLive() { a.carry = true }

// carryLive counts live in p, the heap at the program's end, what the GC
// of last found reachable, stack by stack (at most each stack's bytes).
func (p *Peak) carryLive(last Peak) {
	live := make(map[string]Stack, len(last.Stacks))
	for _, s := range last.Stacks {
		live[stackKey(s.PCs)] = s
	}
	p.LiveBytes = 0
	for i := range p.Stacks {
		s := &p.Stacks[i]
		if l, ok := live[stackKey(s.PCs)]; ok && l.LiveBytes > s.LiveBytes {
			s.LiveBytes, s.LiveObjects = l.LiveBytes, l.LiveObjects
			if s.LiveBytes > s.Bytes {
				s.LiveBytes, s.LiveObjects = s.Bytes, s.Objects
			}
		}
		p.LiveBytes += s.LiveBytes
	}
	switch {
	case last.MarkLive == 0:
		// What the last GC found live is not known: nor is the end's.
		p.MarkLive = 0
	case last.MarkLive > p.MarkLive:
		p.MarkLive = last.MarkLive
	}
	p.LiveFrom, p.LiveFromAt = last.Cycle, last.At
}

// stackKey is a stack's return addresses as a map key.
func stackKey(pcs []uintptr) string {
	b := make([]byte, 0, 8*len(pcs))
	for _, pc := range pcs {
		for i := 0; i < 8; i++ {
			b = append(b, byte(pc>>(8*i)))
		}
	}
	return string(b)
}
