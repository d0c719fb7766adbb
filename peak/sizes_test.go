package peak

import (
	"runtime"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/mprofsim"
)

// manySizes is a program whose lines allocate many sizes, as append growth,
// strings and buffers do: stack 1 keeps buffers of eight sizes made over
// four cycles, stack 2 makes garbage of five sizes every cycle.
func manySizes() []object {
	var objs []object
	sizes := []int64{48, 1024, 4096, 9472, 32768, 106496, 1 << 20, 3 << 20}
	for c := uint32(1); c <= 4; c++ {
		for i, sz := range sizes {
			for j := 0; j <= i; j++ {
				objs = append(objs, object{Stack: 1, Size: sz, Alloc: c})
			}
		}
		for i := int64(1); i <= 5; i++ {
			objs = append(objs, object{Stack: 2, Size: 512 * i, Alloc: c, Dies: c + 1})
		}
	}
	return objs
}

// TestEverySizeCounted: every (stack, size) record is paired on its own and
// summed per stack, so a stack that allocates many sizes is counted whole.
func TestEverySizeCounted(t *testing.T) {
	objs := manySizes()
	var a Accountant
	a.Rate = 1
	for n := uint32(1); n <= 6; n++ {
		s := published(objs, n, false)
		if n == 3 {
			records := 0
			for _, r := range s.Records {
				if r.Stack0[0] == 1 {
					records++
				}
			}
			if records != 8 {
				t.Fatalf("the simulated runtime published %d records for stack 1, want 8 (one per size)", records)
			}
		}
		a.Add(s)
		if n == 1 {
			continue
		}
		last, _ := a.Last()
		want := heapAt(objs, n-1)
		if got := perStack(last); !equalHeaps(got, want) {
			t.Errorf("heap at mark %d = %v, want %v", n-1, got, want)
		}
		for _, st := range last.Stacks {
			if last.PCs(st)[0] == 1 && st.Records != 8 {
				t.Errorf("stack 1 summed %d records at mark %d, want 8", st.Records, n-1)
			}
		}
	}
}

// TestUnbiasPerRecord: sampled records of two sizes with the same stack
// are each scaled at their own size; scaling their sum at the average size
// would count the small objects as if they were larger.
func TestUnbiasPerRecord(t *testing.T) {
	const rate = 64 << 10
	small := runtime.MemProfileRecord{AllocObjects: 100, AllocBytes: 100 * 1024}
	large := runtime.MemProfileRecord{AllocObjects: 10, AllocBytes: 10 * (1 << 20)}
	small.Stack0[0], large.Stack0[0] = 7, 7
	var a Accountant
	a.Rate = rate
	a.Add(Snapshot{Cycle: 1})
	a.Add(Snapshot{Cycle: 2, Records: []runtime.MemProfileRecord{small, large}})
	last, ok := a.Last()
	if !ok || len(last.Stacks) != 1 {
		t.Fatalf("want one stack, got %+v", last.Stacks)
	}
	_, sb := Unbias(small.AllocObjects, small.AllocBytes, rate)
	_, lb := Unbias(large.AllocObjects, large.AllocBytes, rate)
	if got := last.Stacks[0].Bytes; got != sb+lb {
		t.Errorf("stack holds %d bytes, want %d + %d, each record unbiased at its own size", got, sb, lb)
	}
	if last.Sampled != sb+lb || last.Bytes != sb+lb {
		t.Errorf("sampled %d, bytes %d; want %d", last.Sampled, last.Bytes, sb+lb)
	}
}

// TestPeakIsLargestProcessMemory: the peak is the moment the process held
// the most, heap and memory outside it together, not the largest heap.
func TestPeakIsLargestProcessMemory(t *testing.T) {
	objs := program()
	var a Accountant
	a.Rate = 1
	for n := uint32(1); n <= 8; n++ {
		s := published(objs, n, false)
		if n == 2 {
			// Just before mark 2, a 1 MB mapping outside the heap.
			s.End.RSS = 1 << 20
			s.End.GoMapped, s.End.GoReleased = 0, 0
		}
		a.Add(s)
	}
	p, _ := a.Peak()
	if p.Cycle != 2 {
		t.Errorf("peak at mark %d, want mark 2, where the mapping was", p.Cycle)
	}
	if p.Moment().Outside() != 1<<20 {
		t.Errorf("outside the heap at the peak: %d, want %d", p.Moment().Outside(), 1<<20)
	}
}

// TestBoundNeverWinsSilently: a pair across unseen cycles is an upper bound
// and does not replace an exact peak, however large; it is kept apart.
func TestBoundNeverWinsSilently(t *testing.T) {
	objs := program()
	var a Accountant
	a.Rate = 1
	a.Add(published(objs, 1, false))
	a.Add(published(objs, 2, false))
	a.Add(published(objs, 3, false))
	exact, _ := a.Peak()
	a.Add(published(objs, 6, false))
	p, _ := a.Peak()
	if p.Approximate || p.Cycle != exact.Cycle {
		t.Errorf("peak is mark %d (approximate %v), want the exact mark %d", p.Cycle, p.Approximate, exact.Cycle)
	}
	b, ok := a.Bound()
	if !ok || !b.Approximate || b.Bytes <= p.Bytes {
		t.Errorf("bound %+v (ok %v): want the gap's upper bound, above the peak", b.Bytes, ok)
	}
}

// TestUnsweptFromExactFigures: with the runtime's exact heap at the mark
// known, the correction adds exactly what the reading before the mark held
// beyond it, and names it.
func TestUnsweptFromExactFigures(t *testing.T) {
	var objs []object
	for c := uint32(1); c <= 6; c++ {
		objs = append(objs,
			object{Stack: 1, Size: 1000, Alloc: c, Dies: c + 1},
			object{Stack: 2, Size: 3000, Alloc: c, Dies: c + 1},
			object{Stack: 3, Size: 500, Alloc: c})
	}
	const mark = 4
	var a Accountant
	a.Rate = 1
	var atMark int64
	for _, v := range heapAt(objs, mark) {
		atMark += v
	}
	for n := uint32(1); n <= 5; n++ {
		s := published(objs, n, false)
		if n == mark {
			s.Before = Memory{Heap: uint64(atMark) + 2000}
		}
		a.Add(s)
	}
	last, _ := a.Last()
	if last.MarkExact != uint64(atMark) {
		t.Fatalf("exact heap at the mark %d, want %d", last.MarkExact, atMark)
	}
	if last.Unswept != 2000 || last.Bytes != atMark+2000 || last.Sampled != atMark {
		t.Errorf("unswept %d, bytes %d, sampled %d; want 2000, %d, %d", last.Unswept, last.Bytes, last.Sampled, atMark+2000, atMark)
	}
	if last.Exact() != uint64(atMark)+2000 {
		t.Errorf("exact figure at the moment %d, want the reading's %d", last.Exact(), atMark+2000)
	}
}

// TestForcedGCNotYetPublished: the tracker's snapshot after a forced GC
// came before the early publication; its reading shows the forced GC's
// live heap, which the snapshot's in-use bytes do not match. The pair is
// then the heap at the mark before, and the forced mark comes from the
// next snapshot, a second one of the cycle or the next cycle's.
func TestForcedGCNotYetPublished(t *testing.T) {
	for _, second := range []bool{true, false} {
		objs := program()
		var a Accountant
		a.Rate = 1
		for n := uint32(1); n <= 4; n++ {
			a.Add(published(objs, n, false))
		}
		first := published(objs, 5, false)
		first.Forced = true
		first.Now = endReading(objs, 6) // the forced GC's live heap, read with the snapshot
		a.Add(first)
		last, _ := a.Last()
		if last.Cycle != 4 {
			t.Fatalf("the pair ending at an unpublished forced snapshot is labelled mark %d, want 4", last.Cycle)
		}
		if got, want := perStack(last), heapAt(objs, 4); !equalHeaps(got, want) {
			t.Errorf("heap at mark 4 = %v, want %v", got, want)
		}
		if second {
			s := published(objs, 5, true)
			s.Forced = true
			a.Add(s)
		} else {
			a.Add(published(objs, 6, false))
		}
		last, _ = a.Last()
		if last.Cycle != 5 {
			t.Fatalf("second snapshot %v: last heap for mark %d, want 5", second, last.Cycle)
		}
		if got, want := perStack(last), heapAt(objs, 5); !equalHeaps(got, want) {
			t.Errorf("second snapshot %v: heap at the forced mark = %v, want %v exactly", second, got, want)
		}
	}
}

// TestTightGap: a pair across unseen cycles in which almost nothing was
// freed is the heap at its last mark to within what was freed, and counts
// as exact, when nothing much was allocated after that mark either (the
// bound from the exact counters runs up to the snapshot). One across cycles
// that freed much, or followed by much allocation before the snapshot (a
// tracker that did not run for a while), stays an upper bound.
func TestTightGap(t *testing.T) {
	program := func(skip uint32) []object {
		var objs []object
		for c := uint32(1); c <= 6; c++ {
			if c == skip {
				continue
			}
			for i := 0; i < 100; i++ {
				objs = append(objs, object{Stack: 1, Size: 4096, Alloc: c})
			}
		}
		return objs
	}
	gap := func(objs []object, endAllocs uint64) Accountant {
		var a Accountant
		a.Rate = 1
		a.Add(published(objs, 1, false))
		a.Add(published(objs, 2, false))
		s := published(objs, 5, false) // cycles 3 and 4 unseen
		s.Now = endReading(objs, 6)
		s.Now.Allocs = uint64(heapTotal(objs, 5)) + 1
		if endAllocs > 0 {
			s.End.Allocs = endAllocs
		}
		a.Add(s)
		return a
	}
	objs := program(5) // nothing allocated between marks 4 and 5
	a := gap(objs, 0)
	last, _ := a.Last()
	if last.Approximate || last.Slack != 0 {
		t.Fatalf("a gap with nothing freed: approximate %v, slack %d; want exact", last.Approximate, last.Slack)
	}
	if p, _ := a.Peak(); p.Cycle != last.Cycle {
		t.Errorf("the tight gap's mark %d is not the peak (mark %d)", last.Cycle, p.Cycle)
	}
	if got, want := perStack(last), heapAt(objs, 4); !equalHeaps(got, want) {
		t.Errorf("heap at mark 4 across the gap = %v, want %v", got, want)
	}
	objs = program(0) // 400 KiB allocated after mark 4, a quarter of its heap
	a = gap(objs, 0)
	if last, _ := a.Last(); !last.Approximate {
		t.Errorf("a gap followed by much allocation is taken as exact: bound %d, pair %d", last.Before.Heap, last.Sampled)
	}
	// The tracker's last reading of cycle 4 came before that allocation:
	// it bounds the heap at mark 4, and the pair is exact again.
	a = gap(objs, uint64(heapTotal(objs, 4))+1)
	if last, _ := a.Last(); last.Approximate || last.Before.Heap != uint64(heapTotal(objs, 4))+1 {
		t.Errorf("a gap whose last reading bounds its mark: approximate %v, bound %d (want %d)", last.Approximate, last.Before.Heap, heapTotal(objs, 4)+1)
	}
}

func heapTotal(objs []object, n uint32) int64 {
	var total int64
	for _, v := range heapAt(objs, n) {
		total += v
	}
	return total
}

// TestForcedGCAfterUnseenCycle: the program drops its data and forces a GC
// right after a GC the tracker did not see; the tracker's first snapshot of
// the forced cycle comes before the early publication, and the reading
// before the mark is missing. The snapshot's in-use bytes, far from the
// forced GC's live heap, say it was not published yet, and its pair with
// the second snapshot is the heap at the forced mark, the peak.
func TestForcedGCAfterUnseenCycle(t *testing.T) {
	objs := growThenDrop(1)
	a := seenToMark4(objs)
	first := published(objs, 6, false) // cycle 5 unseen
	first.Forced = true
	first.End = Memory{}
	first.Now = endReading(objs, 7)
	a.Add(first)
	second := published(objs, 6, true)
	second.Forced = true
	second.Now = endReading(objs, 7)
	a.Add(second)
	p, _ := a.Peak()
	if want := mprofsim.Total(heapAt(objs, 6)); p.Approximate || p.Cycle != 6 || !within(p.Bytes, want) {
		t.Errorf("peak at mark %d (approximate %v) with %d bytes, want the forced mark 6 with %d", p.Cycle, p.Approximate, p.Bytes, want)
	}
	// Nothing was freed across the unseen cycle: the runtime's figures
	// after the forced GC give its mark's heap.
	if want := uint64(mprofsim.Total(heapAt(objs, 6))); p.MarkExact != want {
		t.Errorf("exact heap at the forced mark %d, want %d", p.MarkExact, want)
	}
}

func within(got, want int64) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	return float64(d) <= 0.01*float64(want)
}

// TestForcedGCDropsOnlyGarbage: the program forces a GC right after one of
// its own, having made only garbage in between (a batch it decoded and
// dropped), so both GCs find the same live heap, to within an allocation
// too small to be sampled. The tracker's snapshot of the second comes after
// its early publication. Only the frees published since the first tell that
// it was published: the pair is the heap at the forced mark, the garbage
// included, and the next pairs, the live heap only, do not replace it.
func TestForcedGCDropsOnlyGarbage(t *testing.T) {
	var objs []object
	for i := 0; i < 32; i++ {
		objs = append(objs, object{Stack: 1, Size: 1 << 20, Alloc: 1 + uint32(i%2)})
		objs = append(objs, object{Stack: 2, Size: 1 << 20, Alloc: 4, Dies: 4})
	}
	var a Accountant
	a.Rate = 1
	a.Add(published(objs, 1, false))
	a.Add(published(objs, 2, false))
	first := published(objs, 3, true)
	first.Forced = true
	a.Add(first)
	a.Add(forcedPublished(objs, 4, 300<<10))
	for n := uint32(5); n <= 6; n++ {
		a.Add(published(objs, n, false))
	}
	p, _ := a.Peak()
	if got, want := perStack(p), heapAt(objs, 4); p.Cycle != 4 || !equalHeaps(got, want) {
		t.Fatalf("peak at mark %d = %v, want mark 4 = %v", p.Cycle, got, want)
	}
	for _, st := range p.Stacks {
		if p.PCs(st)[0] == 2 && st.LiveBytes != 0 {
			t.Errorf("the dropped batch has %d live bytes at the forced mark, want 0", st.LiveBytes)
		}
	}
}

// TestOutsideGrowsAfterThePeak: after the peak's mark the program maps
// memory outside the heap and allocates next to nothing, with no GC to
// account the heap again. A later reading with the same heap and more
// outside it becomes the peak's moment, the attribution unchanged; one
// after the heap has moved, or much was allocated, does not.
func TestOutsideGrowsAfterThePeak(t *testing.T) {
	var objs []object
	for i := 0; i < 64; i++ {
		objs = append(objs, object{Stack: 1, Size: 1 << 20, Alloc: 1 + uint32(i%2)})
	}
	var a Accountant
	a.Rate = 1
	for n := uint32(1); n <= 4; n++ {
		a.Add(published(objs, n, false))
	}
	p, _ := a.Peak()
	exact := p.Exact()
	if exact == 0 {
		t.Fatal("no exact heap at the peak")
	}
	at := p.Moment()
	later := at
	// The runtime maps the heap; the rest of the resident memory is outside.
	later.At, later.Heap, later.Allocs, later.GoMapped, later.RSS = at.At+time.Second, exact, at.Allocs+4096, exact, exact+200<<20
	for _, c := range []struct {
		name string
		edit func(m *Memory)
	}{
		{"much allocated since", func(m *Memory) { m.Allocs += 8 << 20 }},
		{"the heap has shrunk", func(m *Memory) { m.Heap -= 8 << 20 }},
		{"the heap has grown", func(m *Memory) { m.Heap += 8 << 20 }},
		{"less than a MiB more outside", func(m *Memory) { m.RSS = exact + sameHeap/2 }},
	} {
		m := later
		c.edit(&m)
		if a.Outside(m) {
			t.Errorf("%s: the reading was taken as the peak's moment", c.name)
		}
	}
	if !a.Outside(later) {
		t.Fatal("a later reading with the same heap and 200 MiB outside it is not the peak's moment")
	}
	q, _ := a.Peak()
	if q.Moment() != later || q.Memory() != exact+200<<20 || q.Bytes != p.Bytes || len(q.Stacks) != len(p.Stacks) {
		t.Errorf("peak after the reading: moment %+v, memory %d (want %d), bytes %d (want %d)", q.Moment(), q.Memory(), exact+200<<20, q.Bytes, p.Bytes)
	}
}

// TestGCFoundDataDeadThenForced: a GC of the runtime's finds the program's
// data already dead (the compiler keeps only what is used later), and the
// program's own runtime.GC follows it at once, with nothing allocated
// between their marks. The tracker's snapshot of the first is regular, of
// the second published early. Their pair holds the heap at the first mark,
// the data as garbage, which is the peak; labelled with the forced mark,
// whose exact heap is next to nothing, it was lost.
func TestGCFoundDataDeadThenForced(t *testing.T) {
	var objs []object
	for i := 0; i < 64; i++ {
		objs = append(objs, object{Stack: 1, Size: 1 << 20, Alloc: 1 + uint32(i*5/64), Dies: 5})
	}
	objs = append(objs, object{Stack: 2, Size: 4096, Alloc: 1})
	var a Accountant
	a.Rate = 1
	for n := uint32(1); n <= 5; n++ {
		a.Add(published(objs, n, false))
	}
	forced := published(objs, 6, true)
	forced.Forced = true
	a.Add(forced)
	p, _ := a.Peak()
	if got, want := perStack(p), heapAt(objs, 5); p.Cycle != 5 || !equalHeaps(got, want) {
		t.Errorf("peak at mark %d = %v, want mark 5 = %v", p.Cycle, got, want)
	}
	if want := uint64(mprofsim.Total(heapAt(objs, 5))); p.MarkExact != want {
		t.Errorf("exact heap at the peak's mark %d, want %d", p.MarkExact, want)
	}
}

// TestFirstGCForced: with the collector off (GOGC=off), the program's
// first GC is its own runtime.GC, after it let its data go. The snapshot
// before it is the tracker's first, with no reading before any mark, and
// both the forced GC and the start found next to nothing live: only the
// frees published since the start, all its data, say the snapshot holds
// the early publication. The peak is the forced mark, the data as garbage,
// and the pair after it, the live heap only, is not given its exact heap.
func TestFirstGCForced(t *testing.T) {
	objs := []object{{Stack: 2, Size: 4096, Alloc: 1}}
	for i := 0; i < 64; i++ {
		objs = append(objs, object{Stack: 1, Size: 1 << 20, Alloc: 1, Dies: 1})
	}
	var a Accountant
	a.Rate = 1
	var offered []Peak
	a.Trace = func(p Peak) { offered = append(offered, p) }
	start := published(objs, 0, false)
	start.End = Memory{}
	a.Add(start)
	a.Add(forcedPublished(objs, 1, 300<<10))
	for n := uint32(2); n <= 3; n++ {
		a.Add(published(objs, n, false))
	}
	p, _ := a.Peak()
	if got, want := perStack(p), heapAt(objs, 1); p.Cycle != 1 || !equalHeaps(got, want) {
		t.Errorf("peak at mark %d = %v, want the forced mark 1 = %v", p.Cycle, got, want)
	}
	for _, q := range offered {
		if q.MarkExact > 32<<20 && q.Sampled < 32<<20 {
			t.Errorf("mark %d: %d bytes sampled given the exact heap %d", q.Cycle, q.Sampled, q.MarkExact)
		}
	}
}

// forcedPublished is the snapshot after the program's runtime.GC at mark
// n, taken after its early publication, with the reading that came with
// it: that GC's live heap, holding also unsampled bytes the profile never
// saw.
func forcedPublished(objs []object, n uint32, unsampled uint64) Snapshot {
	s := published(objs, n, true)
	s.Forced = true
	s.Now.Live += unsampled
	return s
}

// TestPeakAmongUnseenCycles: the program grows 16 MiB a cycle and drops it
// all at its own runtime.GC (mark 6), right after a GC the tracker did not
// see (mark 5), so the only pair across the peak spans both. Its bound
// counts all 80 MiB; the exact pairs, up to mark 3, say 48 MiB. A reading
// taken among the unseen cycles found more than that: the bound's pair is
// then the peak, approximate, with that reading as the least it was, and
// the exact pairs after it, of a heap of next to nothing, do not replace it.
// When the reading found as much as the bound counts, the pair is exact, at
// that reading.
func TestPeakAmongUnseenCycles(t *testing.T) {
	objs := growThenDrop(8)
	total := uint64(mprofsim.Total(heapAt(objs, 6)))
	run := func(since uint64) Accountant {
		a := seenToMark4(objs)
		s := published(objs, 6, true) // cycle 5 unseen
		s.Forced = true
		s.End = Memory{}
		s.Since = Memory{At: time.Second, Heap: since}
		a.Add(s)
		for n := uint32(7); n <= 8; n++ {
			a.Add(published(objs, n, false))
		}
		return a
	}
	a := run(64 << 20)
	p, _ := a.Peak()
	if !p.Approximate || p.Least.Heap != 64<<20 {
		t.Fatalf("peak at mark %d, approximate %v, at least %d; want the pair across the unseen cycles, approximate, at least 64 MiB", p.Cycle, p.Approximate, p.Least.Heap)
	}
	if got, want := perStack(p)[1], int64(80<<20); !within(got, want) {
		t.Errorf("the approximate peak gives stack 1 %d bytes, want %d", got, want)
	}
	if p.Exact() < total || p.Exact() > total+64<<10 {
		t.Errorf("the approximate peak's exact bound is %d, want %d", p.Exact(), total)
	}
	a = run(total - 100<<10)
	p, _ = a.Peak()
	if p.Approximate || p.Moment().At != time.Second || p.Exact() != total-100<<10 {
		t.Errorf("a reading within 100 KiB of the bound: approximate %v, at %v, exact %d; want exact at the reading, %d", p.Approximate, p.Moment().At, p.Exact(), total-100<<10)
	}
	if got, want := perStack(p)[1], int64(80<<20); !within(got, want) {
		t.Errorf("the peak at the reading gives stack 1 %d bytes, want %d", got, want)
	}
	a = run(40 << 20) // less than the exact peak: the bound is only a note
	if p, _ = a.Peak(); p.Approximate || p.Cycle != 3 {
		t.Errorf("a reading below the exact peak: peak at mark %d, approximate %v; want mark 3, exact", p.Cycle, p.Approximate)
	}
	// A regular snapshot's pair ends at the mark before it: readings of
	// the cycle it ends, and with it, are after that mark and hold what
	// the pair does not count. They are not the least it held.
	a = seenToMark4(objs)
	s := published(objs, 6, false)
	s.End = Memory{}
	s.Before, s.Now = Memory{At: 2 * time.Second, Heap: 400 << 20}, Memory{At: 3 * time.Second, Heap: 500 << 20}
	s.Since = Memory{At: time.Second, Heap: 60 << 20}
	a.Add(s)
	if last, _ := a.Last(); last.Least.Heap != 60<<20 {
		t.Errorf("a regular snapshot's pair across unseen cycles: least %d, want the reading since the last snapshot, %d", last.Least.Heap, 60<<20)
	}
}

// growThenDrop is a program that keeps 16 one-MiB blocks a cycle over
// cycles 1 to 5 and drops them all at mark 6 (stack 1), and keeps one
// 4 KiB object made in each of cycles 1 to kept (stack 2).
func growThenDrop(kept uint32) []object {
	var objs []object
	for c := uint32(1); c <= 5; c++ {
		for i := 0; i < 16; i++ {
			objs = append(objs, object{Stack: 1, Size: 1 << 20, Alloc: c, Dies: 6})
		}
	}
	for c := uint32(1); c <= kept; c++ {
		objs = append(objs, object{Stack: 2, Size: 4096, Alloc: c})
	}
	return objs
}

// seenToMark4 is an accountant at the default rate fed the regular
// snapshots after GCs 1 to 4 of objs.
func seenToMark4(objs []object) Accountant {
	var a Accountant
	a.Rate = 64 << 10
	for n := uint32(1); n <= 4; n++ {
		a.Add(published(objs, n, false))
	}
	return a
}

// TestPeakFloor: what replaces the peak once pairs across unseen cycles
// are offered. The floor is the most the process is known to have held:
// every exact pair's memory, every approximate pair's Least. An
// approximate pair replaces the peak only with a Least above the floor (by
// 1 MiB here); an exact pair replaces an approximate peak only by holding
// the floor.
func TestPeakFloor(t *testing.T) {
	exact := func(mib uint64) Peak {
		return Peak{Bytes: int64(mib << 20), MarkExact: mib << 20, Mark: Memory{At: time.Duration(mib), Heap: mib << 20}}
	}
	approx := func(bound, least uint64) Peak {
		p := Peak{Approximate: true, Bytes: int64(bound << 20), Before: Memory{Heap: bound << 20}}
		if least > 0 {
			p.Least = Memory{At: time.Duration(least), Heap: least << 20}
		}
		return p
	}
	var a Accountant
	steps := []struct {
		name string
		p    Peak
		peak bool // becomes the peak
	}{
		{"exact 48 MiB", exact(48), true},
		{"approximate, bound 80, read at 64", approx(80, 64), true},
		{"approximate, bound 100, no reading", approx(100, 0), false},
		{"exact 20 MiB", exact(20), false},
		{"approximate, bound 90, read at 64 (no more than the floor)", approx(90, 64), false},
		{"approximate, bound 90, read at 70", approx(90, 70), true},
		{"exact 69 MiB, below the reading", exact(69), false},
		{"exact 75 MiB", exact(75), true},
		{"exact 74 MiB", exact(74), false},
		// No exact bound (no reading before the gap), but a reading among
		// its cycles: the heap was at least that, and only this pair
		// attributes those cycles.
		{"approximate, no bound, read at 200", Peak{Approximate: true, Bytes: 150 << 20, Least: Memory{Heap: 200 << 20}}, true},
		{"exact 150 MiB", exact(150), false},
	}
	for _, st := range steps {
		if got := a.offer(st.p); got != st.peak {
			p, _ := a.Peak()
			t.Errorf("%s: new peak %v, want %v (the peak: approximate %v, %d bytes)", st.name, got, st.peak, p.Approximate, p.Memory())
		}
	}
}
