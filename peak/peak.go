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
	// ForcedCycles is how many of them the program forced
	// (/gc/cycles/forced:gc-cycles).
	ForcedCycles uint32
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
	// Classes are the runtime's other memory classes: with Heap and
	// GoReleased they make up GoMapped.
	Classes Classes
	// Resident is the resident set divided by kind, as last read (at
	// Resident.At), which may be before this reading: it is read only as
	// the resident set grows.
	Resident Resident
	// Own is what of Heap is the profiler's own: the tracker's structures
	// as it counted them when it took the reading, and what it allocated
	// to start a GC whose mark the reading precedes. Peaks are compared
	// without it, so that the profiler's memory never chooses the peak.
	// Zero where the heap does not hold the tracker (a simulation).
	Own uint64
}

// Classes are the runtime's memory classes (runtime/metrics
// /memory/classes/...) other than the heap's objects and released pages, in
// bytes.
type Classes struct {
	// HeapFree is heap memory free and not returned to the system;
	// HeapUnused is the part of the heap's spans that holds no object
	// (heap/free, heap/unused).
	HeapFree, HeapUnused uint64
	// HeapStacks and OSStacks are goroutine stacks in the heap and the
	// stacks the system gave (heap/stacks, os-stacks).
	HeapStacks, OSStacks uint64
	// Metadata is the runtime's own structures (metadata/..., other);
	// Profiling is the heap profile's buckets (profiling/buckets).
	Metadata, Profiling uint64
}

// Resident is the resident set divided by the kind of memory, in bytes,
// read At; zero if it was never read.
type Resident struct {
	At time.Duration
	// Total is the resident set.
	Total uint64
	// Heap is resident in the Go heap's arenas; Anon in the other
	// anonymous memory (the runtime's own, cgo's malloc, mmap, the
	// binary's zero-filled data).
	Heap, Anon uint64
	// Files is resident memory backed by files: the executable, shared
	// libraries, mapped files, shared memory.
	Files uint64
}

// Known reports whether r was read.
func (r Resident) Known() bool { return r.Total != 0 }

// Known reports whether m is a reading.
func (m Memory) Known() bool { return m.Heap != 0 }

// Held is the memory the program held at m: the Go heap less the
// profiler's own, and what is resident outside the heap.
func (m Memory) Held() uint64 { return less(m.Heap, m.Own) + m.Outside() }

// less is a − b, or 0 when b is larger.
func less(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

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
// summed over its records (one per allocation size). It names its stack by
// its id in the Peak's Table (Peak.PCs gives the frames): a Peak holds a
// Stack for every stack holding anything, and forty bytes with no pointer
// take less memory, and less of the collector's time, than a slice of the
// frames.
type Stack struct {
	// ID is the stack's id in the Peak's Table.
	ID uint32
	// Records is how many (stack, size) records were summed.
	Records int32
	// Objects and Bytes are the heap at the moment, unbiased for sampling.
	Objects, Bytes int64
	// LiveObjects and LiveBytes are what that GC found still reachable.
	LiveObjects, LiveBytes int64
}

// PCs returns the return addresses of s, one of p's Stacks, leaf first, as
// runtime.MemProfileRecord.Stack returns them. They are the Table's: not to
// be changed.
func (p *Peak) PCs(s Stack) []uintptr {
	if p.Table == nil {
		return nil
	}
	return p.Table.PCs(s.ID)
}

// Truncated reports whether s, one of p's Stacks, filled the runtime's
// 32-frame record and so may have lost its outermost frames.
func (p *Peak) Truncated(s Stack) bool {
	return len(p.PCs(s)) >= len(runtime.MemProfileRecord{}.Stack0)
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
	// Stacks are the stacks that held bytes at the moment: sorted by
	// Bytes, largest first, in the peaks Accountant.Peak and Bound return;
	// in no particular order in Last and Trace, whose callers need no
	// order (sorting a hundred thousand stacks at every GC cycle cost a
	// tenth of the tracker's time).
	Stacks []Stack
	// Table holds the frames of the Stacks, by their IDs.
	Table *Table
	// sorted says Stacks are in order.
	sorted bool
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
// only reading is after the mark and the pair counts less (near); Proven
// says whether it is the figure for the peak's moment itself.
func (p Peak) Exact() uint64 {
	switch {
	case p.Unswept > 0:
		return p.Before.Heap
	case p.MarkExact != 0:
		return p.MarkExact
	case !p.Gap && p.Before.Cycles >= p.Cycle && !p.near(p.Before.Heap):
		// A reading taken after the mark (its cycle before went unseen)
		// holds what was allocated since.
		return 0
	}
	return p.Before.Heap
}

// Proven reports whether Exact is the runtime's figure for the peak's
// moment itself: the heap at the mark, proven by the readings around it,
// the reading before the mark that held more (Unswept), or the bound or
// reading of a pair across unseen cycles (Gap). Otherwise it is a reading
// before the mark, which is no figure for the mark.
func (p Peak) Proven() bool {
	return p.MarkExact != 0 || p.Unswept > 0 || p.Gap
}

// Memory is what the program held at the peak's moment: the Go heap (the
// runtime's exact figure, else the sampled one) less the profiler's own,
// plus the memory outside it. Peaks are compared by it.
func (p Peak) Memory() uint64 {
	m := p.Moment()
	return less(p.heap(), m.Own) + m.Outside()
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
	if h == 0 && p.Bytes > 0 || p.misplaced() {
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

// misplaced reports whether the pair counts so much less than the heap its
// mark is proven to have held (less than half, and by more than misplacedBy)
// that it cannot be that mark's pair, whatever the sampling: a pair given a
// mark it does not describe (a forced GC's early publication told wrongly).
// It is then compared by what it counts, not by the mark's figure.
func (p Peak) misplaced() bool {
	return p.MarkExact != 0 && p.Unswept == 0 && p.Sampled >= 0 &&
		uint64(p.Sampled) < p.MarkExact/2 && p.MarkExact-uint64(p.Sampled) > misplacedBy
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
	tol := Agreement(p.rate, s)
	return s >= float64(b.Lo)-tol && s <= float64(b.Hi)+tol
}

// setExact bounds the runtime's exact heap at p's mark by the readings
// around it (marks.go), and sets the figure when the bounds prove it.
func (p *Peak) setExact(ws *windows) {
	p.MarkBounds, p.MarkLive = ws.heapAt(p.Cycle)
	p.MarkExact = p.MarkBounds.Exact()
}

// carryLive counts live in p, the heap at the program's end, what the GC
// of last found reachable, stack by stack (at most each stack's bytes).
// Both are the same Accountant's: their Stacks' IDs are of one Table.
func (p *Peak) carryLive(last Peak) {
	live := make(map[uint32]Stack, len(last.Stacks))
	for _, s := range last.Stacks {
		live[s.ID] = s
	}
	p.LiveBytes = 0
	for i := range p.Stacks {
		s := &p.Stacks[i]
		if l, ok := live[s.ID]; ok && l.LiveBytes > s.LiveBytes {
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
