package peak

import (
	"math"
	"testing"

	"github.com/gofil/gofil/internal/mprofsim"
)

// object is one allocation of a simulated program (mprofsim.Object).
type object = mprofsim.Object

// published is the snapshot after GC n, as the runtime publishes it (see
// mprofsim.Published), with the runtime's exact reading before mark n.
func published(objs []object, n uint32, post bool) Snapshot {
	s := Snapshot{Cycle: n, End: endReading(objs, n), Records: mprofsim.Published(objs, n, post)}
	if n > 0 {
		s.MarkBefore, s.MarkAfter = s.End, afterMark(objs, n)
	}
	if post {
		// After a runtime.GC the reading with the snapshot holds the live
		// heap of mark n and the frees of its sweep.
		s.Now = endReading(objs, n+1)
	}
	return s
}

// endReading is the runtime's exact reading just before mark n: the live
// heap mark n−1 found, the frees of the sweeps up to n−1 and the bytes
// allocated by mark n.
func endReading(objs []object, n uint32) Memory {
	live, frees, allocs := mprofsim.Exact(objs, n)
	c := uint32(0)
	if n > 0 {
		c = n - 1
	}
	return Memory{Cycles: c, Heap: 1, Live: live, Frees: frees, Allocs: allocs}
}

// afterMark is the runtime's exact reading right after mark n (see
// mprofsim.AfterMark).
func afterMark(objs []object, n uint32) Memory {
	live, frees, allocs := mprofsim.AfterMark(objs, n)
	return Memory{Cycles: n, Heap: 1, Live: live, Frees: frees, Allocs: allocs}
}

// heapAt is the truth: bytes per stack at mark n.
func heapAt(objs []object, n uint32) map[uintptr]int64 { return mprofsim.HeapAt(objs, n) }

func perStack(p Peak) map[uintptr]int64 {
	h := map[uintptr]int64{}
	for _, s := range p.Stacks {
		h[p.PCs(s)[0]] += s.Bytes
	}
	return h
}

func equalHeaps(a, b map[uintptr]int64) bool {
	for k, v := range a {
		if v != 0 && b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if v != 0 && a[k] != v {
			return false
		}
	}
	return true
}

// program grows stack 1 until mark 4 while stack 2 churns, adds stack 3
// just before mark 5, then drops stack 1's data.
func program() []object {
	var objs []object
	for c := uint32(1); c <= 4; c++ {
		for i := 0; i < 10; i++ {
			objs = append(objs, object{Stack: 1, Size: 1000, Alloc: c, Dies: 5})
		}
		objs = append(objs, object{Stack: 2, Size: 300, Alloc: c, Dies: c + 1})
	}
	for c := uint32(5); c <= 8; c++ {
		objs = append(objs, object{Stack: 2, Size: 300, Alloc: c, Dies: c + 1})
	}
	// Made between marks 4 and 5: in the heap at mark 5, not at mark 4.
	objs = append(objs, object{Stack: 3, Size: 5000, Alloc: 5, Dies: 7})
	return objs
}

func TestPairsGiveTheHeapAtEachMark(t *testing.T) {
	objs := program()
	var a Accountant
	a.Rate = 1
	best, bestMark := int64(0), uint32(0)
	for n := uint32(1); n <= 8; n++ {
		a.Add(published(objs, n, false))
		if n == 1 {
			continue
		}
		last, ok := a.Last()
		if !ok || last.Cycle != n-1 {
			t.Fatalf("after S_%d: last heap is for mark %d, want %d", n, last.Cycle, n-1)
		}
		want := heapAt(objs, n-1)
		if got := perStack(last); !equalHeaps(got, want) {
			t.Errorf("heap at mark %d = %v, want %v", n-1, got, want)
		}
		var total int64
		for _, v := range want {
			total += v
		}
		if total > best {
			best, bestMark = total, n-1
		}
	}
	p, ok := a.Peak()
	if !ok || p.Cycle != bestMark || p.Bytes != best {
		t.Errorf("peak at mark %d with %d bytes, want mark %d with %d", p.Cycle, p.Bytes, bestMark, best)
	}
	if p.MarkExact != uint64(best) || p.Sampled != best {
		t.Errorf("exact heap at the peak's mark %d, sampled %d; want both %d", p.MarkExact, p.Sampled, best)
	}
	if p.Approximate || a.Gaps != 0 {
		t.Errorf("approximate %v, gaps %d: want an exact peak", p.Approximate, a.Gaps)
	}
}

// TestForcedGCPublishedEarly: the program calls runtime.GC at mark 5,
// right after dropping its data, and the snapshot is taken after the
// early publication. The pair ending there is the heap at the forced mark
// (plus what GC 4 freed), and the next pair, the live heap only, is
// skipped.
func TestForcedGCPublishedEarly(t *testing.T) {
	objs := program()
	var a Accountant
	a.Rate = 1
	for n := uint32(1); n <= 4; n++ {
		a.Add(published(objs, n, false))
	}
	forced := published(objs, 5, true)
	forced.Forced = true
	a.Add(forced)
	last, _ := a.Last()
	if last.Cycle != 5 {
		t.Fatalf("the pair ending at the forced snapshot is labelled mark %d, want 5", last.Cycle)
	}
	want := heapAt(objs, 5)
	want[2] += 300 // what GC 4 freed, counted in addition
	if got := perStack(last); !equalHeaps(got, want) {
		t.Errorf("heap at the forced mark = %v, want %v", got, want)
	}
	paired := a.Paired
	a.Add(published(objs, 6, false)) // identical to the early publication
	if a.Paired != paired {
		t.Errorf("the pair after an early publication was accounted; it holds only the live heap")
	}
}

// TestForcedGCSnapshotBeforePublication: the snapshot of the forced cycle
// comes before the early publication, and a second one after it: their
// pair is the heap at the forced mark exactly.
func TestForcedGCSnapshotBeforePublication(t *testing.T) {
	objs := program()
	var a Accountant
	a.Rate = 1
	for n := uint32(1); n <= 4; n++ {
		a.Add(published(objs, n, false))
	}
	first := published(objs, 5, false)
	first.Forced = true
	a.Add(first)
	second := published(objs, 5, true)
	second.Forced = true
	a.Add(second)
	last, _ := a.Last()
	if last.Cycle != 5 {
		t.Fatalf("last heap for mark %d, want 5", last.Cycle)
	}
	if got, want := perStack(last), heapAt(objs, 5); !equalHeaps(got, want) {
		t.Errorf("heap at the forced mark = %v, want %v exactly", got, want)
	}
}

// TestGapIsAnUpperBound: cycles 3 and 4 are not seen; the pair across the
// gap is flagged and bounds the heap at each mark it spans.
func TestGapIsAnUpperBound(t *testing.T) {
	objs := program()
	var a Accountant
	a.Rate = 1
	a.Add(published(objs, 1, false))
	a.Add(published(objs, 2, false))
	a.Add(published(objs, 5, false))
	last, _ := a.Last()
	if !last.Approximate || a.Gaps != 1 {
		t.Fatalf("approximate %v, gaps %d; want a flagged pair", last.Approximate, a.Gaps)
	}
	for n := uint32(2); n <= 4; n++ {
		var truth int64
		for _, v := range heapAt(objs, n) {
			truth += v
		}
		if last.Bytes < truth {
			t.Errorf("the pair across the gap holds %d bytes, less than the heap at mark %d (%d)", last.Bytes, n, truth)
		}
	}
}

// TestUnsweptGarbage: the runtime's reading before mark 4 shows more than
// the heap at the mark, because the sweep after mark 3 had freed only part
// of its garbage by then. The pair then includes the same share of that
// garbage from every stack, up to the runtime's figure.
func TestUnsweptGarbage(t *testing.T) {
	var objs []object
	for c := uint32(1); c <= 6; c++ {
		objs = append(objs,
			object{Stack: 1, Size: 1000, Alloc: c, Dies: c + 1}, // garbage a cycle later
			object{Stack: 2, Size: 3000, Alloc: c, Dies: c + 1},
			object{Stack: 3, Size: 500, Alloc: c}) // kept
	}
	mark := uint32(4)
	atMark := heapAt(objs, mark)
	swept := map[uintptr]int64{} // what the sweep after mark 3 freed
	for _, o := range objs {
		if o.Dies == mark-1 {
			swept[o.Stack] += o.Size
		}
	}
	var total, garbage int64
	for _, v := range atMark {
		total += v
	}
	for _, v := range swept {
		garbage += v
	}
	var a Accountant
	a.Rate = 1
	for n := uint32(1); n <= 5; n++ {
		s := published(objs, n, false)
		s.End = Memory{} // no exact figure at the mark: the pair is the reference
		if n == mark {
			// Read before mark 4, with half of that garbage not swept yet.
			s.Before.Heap = uint64(total + garbage/2)
		}
		a.Add(s)
	}
	last, _ := a.Last()
	if last.Cycle != mark || last.Unswept != garbage/2 || last.Sampled != total {
		t.Fatalf("mark %d, unswept %d, sampled %d; want mark %d, %d, %d", last.Cycle, last.Unswept, last.Sampled, mark, garbage/2, total)
	}
	got := perStack(last)
	for stack, v := range atMark {
		if want := v + swept[stack]/2; got[stack] != want {
			t.Errorf("stack %d holds %d bytes, want %d (%d at the mark and half of %d unswept)", stack, got[stack], want, v, swept[stack])
		}
	}
	if last.Bytes != total+garbage/2 {
		t.Errorf("total %d, want the runtime's %d", last.Bytes, total+garbage/2)
	}
}

func TestUnbias(t *testing.T) {
	// 100 objects of 512 bytes sampled at 512 KiB: each is sampled with
	// probability 1−exp(−1/1024).
	objs, bytes := Unbias(100, 100*512, 512<<10)
	scale := 1 / (1 - math.Exp(-512.0/(512<<10)))
	if want := int64(100*scale + 0.5); objs != want {
		t.Errorf("objects %d, want %d", objs, want)
	}
	if want := int64(100*512*scale + 0.5); bytes != want {
		t.Errorf("bytes %d, want %d", bytes, want)
	}
	if o, b := Unbias(3, 300, 1); o != 3 || b != 300 {
		t.Errorf("at rate 1 nothing is scaled: got %d, %d", o, b)
	}
}

// TestCarryLive: the program holds stack 1's data through its last GC
// (mark 3) and allocates stack 2's after it; then main returns and the
// tracker's own GC (mark 4) finds nothing reachable. The heap at the end
// counts stack 1 live, as mark 3 found it, and stack 2 not live (not
// known); without CarryLive both read as garbage. With an earlier peak
// (stack 3's megabyte, dead by mark 2), mark 3's heap is not the peak, and
// its stacks are in the buffer the end's pair is made in: what is carried
// must be mark 3's, not the end's own.
func TestCarryLive(t *testing.T) {
	for _, earlierPeak := range []bool{false, true} {
		for _, carry := range []bool{false, true} {
			testCarryLive(t, earlierPeak, carry)
		}
	}
}

func testCarryLive(t *testing.T, earlierPeak, carry bool) {
	t.Helper()
	var objs []object
	for c := uint32(1); c <= 3; c++ {
		objs = append(objs, object{Stack: 1, Size: 4096, Alloc: c, Dies: 4})
	}
	objs = append(objs, object{Stack: 2, Size: 8192, Alloc: 4, Dies: 4})
	if earlierPeak {
		objs = append(objs, object{Stack: 3, Size: 1 << 20, Alloc: 1, Dies: 2})
	}
	{
		var a Accountant
		a.Rate = 1
		for n := uint32(0); n <= 4; n++ {
			a.Add(published(objs, n, false))
		}
		if carry {
			a.CarryLive()
		}
		a.Add(published(objs, 5, false))
		p, _ := a.Last()
		live, bytes := map[uintptr]int64{}, map[uintptr]int64{}
		for _, s := range p.Stacks {
			live[p.PCs(s)[0]], bytes[p.PCs(s)[0]] = s.LiveBytes, s.Bytes
		}
		if p.Cycle != 4 || bytes[1] != 3*4096 || bytes[2] != 8192 {
			t.Fatalf("earlier peak %v: the end pair: mark %d, bytes %v", earlierPeak, p.Cycle, bytes)
		}
		if !carry {
			if p.LiveBytes != 0 || p.LiveFrom != 0 {
				t.Errorf("earlier peak %v: without CarryLive: live %d from mark %d; want 0 from none", earlierPeak, p.LiveBytes, p.LiveFrom)
			}
			return
		}
		if live[1] != 3*4096 || live[2] != 0 || p.LiveBytes != 3*4096 || p.LiveFrom != 3 {
			t.Errorf("earlier peak %v: with CarryLive: live %v (total %d) from mark %d; want stack 1 %d, stack 2 0, from mark 3", earlierPeak, live, p.LiveBytes, p.LiveFrom, 3*4096)
		}
	}
}

// TestMisplacedPairIsNoPeak: a pair that counts 0.5 MiB for a mark whose
// heap the readings prove to have been 371 MiB is not that mark's pair (a
// forced GC's early publication told wrongly gives a pair the wrong mark):
// it does not replace a peak whose pair counts the 370 MiB its mark held,
// and the report keeps stacks that account for the heap.
func TestMisplacedPairIsNoPeak(t *testing.T) {
	var a Accountant
	a.Rate = 64 << 10
	good := Peak{Cycle: 5, Bytes: 368 << 20, Sampled: 368 << 20, MarkExact: 370 << 20}
	bad := Peak{Cycle: 7, Bytes: 512 << 10, Sampled: 512 << 10, MarkExact: 371 << 20}
	if !a.offer(good) {
		t.Fatal("the first pair is not the peak")
	}
	if a.offer(bad) {
		p, _ := a.Peak()
		t.Errorf("a pair counting %d bytes for a mark proven at %d became the peak (mark %d)", bad.Sampled, bad.MarkExact, p.Cycle)
	}
	// A pair that counts as much as sampling allows is its mark's.
	near := Peak{Cycle: 9, Bytes: 365 << 20, Sampled: 365 << 20, MarkExact: 372 << 20}
	if !a.offer(near) {
		t.Errorf("a pair counting 365 MiB for a mark proven at 372 MiB did not become the peak")
	}
}

// TestOwnNeverChoosesThePeak: the profiler's own heap (Memory.Own) is in
// the runtime's exact figure at each mark, and at every allocation sampled
// it can be as large as the program's. A mark whose heap is larger only by
// the profiler's own is not the peak; one where the program held more is.
func TestOwnNeverChoosesThePeak(t *testing.T) {
	const mib = 1 << 20
	// At mark 3 the program held 100 MiB beside 30 MiB of the tracker's;
	// at mark 5, 110 MiB beside 2 MiB.
	tracked := Peak{Cycle: 3, Bytes: 130 * mib, Sampled: 130 * mib, MarkExact: 130 * mib,
		Mark: Memory{Cycles: 2, Heap: 130 * mib, Own: 30 * mib}}
	program := Peak{Cycle: 5, Bytes: 112 * mib, Sampled: 112 * mib, MarkExact: 112 * mib,
		Mark: Memory{Cycles: 4, Heap: 112 * mib, Own: 2 * mib}}
	for _, order := range [][2]Peak{{tracked, program}, {program, tracked}} {
		var a Accountant
		a.Rate = 1
		a.offer(order[0])
		a.offer(order[1])
		p, _ := a.Peak()
		if p.Cycle != 5 {
			t.Errorf("offered marks %d then %d: the peak is mark %d (%d bytes less %d of the tracker's), want mark 5, where the program held 110 MiB",
				order[0].Cycle, order[1].Cycle, p.Cycle, p.MarkExact, p.Mark.Own)
		}
		if got := p.Memory(); got != 110*mib {
			t.Errorf("the peak's memory: %d, want %d, the program's heap without the tracker's", got, 110*mib)
		}
	}
}
