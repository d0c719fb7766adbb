package tracker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/memsource"
	"github.com/gofil/gofil/internal/mprofsim"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// simRuntime is a source that follows the runtime's publication rules
// (mprofsim, the simulation peak's tests use too) for a scripted program:
// the tracker's cycle logic runs against it as against the runtime. The
// program is always just before its next mark: everything it will have
// made by mark cycle+1 is made, and every sweep so far is over.
type simRuntime struct {
	objs   []mprofsim.Object
	cycle  uint32 // GC cycles completed
	forced uint32 // of which forced by the program
	// early says the profile holds the early publication of a forced
	// GC: the allocations before mark cycle and the frees of its sweep.
	early bool
	gcs   int // cycles the tracker started
	// outside is the resident memory the runtime does not account for.
	outside uint64
	// readCycle is the cycle of the last reading.
	readCycle uint32
	// gcOff says the program turned its GC off.
	gcOff bool
}

func (s *simRuntime) Read(r *peak.Memory) {
	live, frees, allocs := mprofsim.Exact(s.objs, s.cycle+1)
	if s.cycle != s.readCycle {
		// The first reading of a cycle is taken right after its mark,
		// before the program allocated more or the sweep freed anything.
		s.readCycle = s.cycle
		live, frees, allocs = mprofsim.AfterMark(s.objs, s.cycle)
	}
	heap := allocs - frees + 1
	*r = peak.Memory{Cycles: s.cycle, ForcedCycles: s.forced, Heap: heap, Live: live, Allocs: allocs, Frees: frees, GoMapped: heap, RSS: heap + s.outside}
}

func (s *simRuntime) Snapshot() (peak.Snapshot, bool) {
	return peak.Snapshot{Cycle: s.cycle, Records: mprofsim.Published(s.objs, s.cycle, s.early)}, true
}

func (s *simRuntime) Rate() int { return 1 }

func (s *simRuntime) GCFigures(f *memsource.GCFigures) {}

func (s *simRuntime) GCPercent() int64 {
	if s.gcOff {
		return -1
	}
	return 100
}

func (s *simRuntime) StartGC(from uint32) bool {
	s.cycle++
	s.early = false
	s.gcs++
	return true
}

// heapAt is the truth at mark n.
func (s *simRuntime) heapAt(n uint32) int64 { return mprofsim.Total(mprofsim.HeapAt(s.objs, n)) }

func newSimTracker(t *testing.T, sim *simRuntime) *tracker {
	t.Helper()
	tr, err := newTracker(t.TempDir(), defaultInterval, sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tr.timeline.f.Close()
		tr.gcLog.held.f.Close()
	})
	return tr
}

// job is a program that grows stack 1 with many sizes up to mark 5, churns
// stack 2, and drops stack 1's data at mark 5, a GC it forces itself
// (runtime.GC right after letting the data go).
func job() []mprofsim.Object {
	var objs []mprofsim.Object
	for c := uint32(1); c <= 5; c++ {
		for i := int64(1); i <= 20; i++ {
			objs = append(objs, mprofsim.Object{Stack: 1, Size: 1024 * i, Alloc: c, Dies: 5})
		}
		objs = append(objs, mprofsim.Object{Stack: 2, Size: 4096, Alloc: c, Dies: c + 1})
	}
	for c := uint32(6); c <= 9; c++ {
		objs = append(objs, mprofsim.Object{Stack: 2, Size: 4096, Alloc: c, Dies: c + 1})
	}
	return objs
}

// TestForcedGCRechecked: the tracker's snapshot after the program's
// runtime.GC comes before the early publication, its next tick's after:
// the peak is the heap at the forced mark, exactly.
func TestForcedGCRechecked(t *testing.T) {
	sim := &simRuntime{objs: job()}
	tr := newSimTracker(t, sim)
	for c := uint32(1); c <= 4; c++ {
		sim.cycle = c
		tr.observe()
	}
	tr.observe() // a reading right before the forced mark
	sim.cycle, sim.forced = 5, 1
	tr.observe() // the snapshot before the publication
	sim.early = true
	tr.observe() // the recheck sees it
	p, ok := tr.acc.Peak()
	if !ok || p.Cycle != 5 || p.Bytes != sim.heapAt(5) {
		t.Fatalf("peak at mark %d with %d bytes, want mark 5 with %d", p.Cycle, p.Bytes, sim.heapAt(5))
	}
	if p.MarkExact != uint64(sim.heapAt(5)) {
		t.Errorf("exact heap at the forced mark %d, want %d", p.MarkExact, sim.heapAt(5))
	}
	// The program goes on; the next regular cycles do not replace it.
	for c := uint32(6); c <= 8; c++ {
		sim.cycle, sim.early = c, false
		tr.observe()
	}
	if q, _ := tr.acc.Peak(); q.Cycle != 5 {
		t.Errorf("peak moved to mark %d", q.Cycle)
	}
}

// TestFinalAccounting: at exit the tracker starts two GC cycles; the first
// pair is the heap at the program's last GC, the second the heap at exit,
// which here is the peak.
func TestFinalAccounting(t *testing.T) {
	var objs []mprofsim.Object
	for c := uint32(1); c <= 4; c++ {
		objs = append(objs, mprofsim.Object{Stack: 1, Size: 8192 * int64(c), Alloc: c})
	}
	objs = append(objs, mprofsim.Object{Stack: 3, Size: 1 << 20, Alloc: 4}) // made after the last GC
	sim := &simRuntime{objs: objs}
	tr := newSimTracker(t, sim)
	for c := uint32(1); c <= 3; c++ {
		sim.cycle = c
		tr.observe()
	}
	tr.final("return")
	if sim.gcs != 2 {
		t.Errorf("the final accounting started %d GC cycles, want 2", sim.gcs)
	}
	p, ok := tr.acc.Peak()
	if !ok || p.Cycle != 4 || p.Bytes != sim.heapAt(4) {
		t.Errorf("peak at mark %d with %d bytes, want the exit's mark 4 with %d", p.Cycle, p.Bytes, sim.heapAt(4))
	}
}

// TestGapSeen: the tracker misses a cycle in which nothing was freed: the
// pair across it is exact, and the peak.
func TestGapSeen(t *testing.T) {
	var objs []mprofsim.Object
	for c := uint32(1); c <= 6; c++ {
		objs = append(objs, mprofsim.Object{Stack: 1, Size: 65536, Alloc: c})
	}
	sim := &simRuntime{objs: objs}
	tr := newSimTracker(t, sim)
	for _, c := range []uint32{1, 2, 4, 5} {
		sim.cycle = c
		tr.observe()
	}
	p, _ := tr.acc.Peak()
	if p.Approximate || p.Cycle != 4 || p.Bytes != sim.heapAt(4) {
		t.Errorf("peak at mark %d, %d bytes, approximate %v; want the exact mark 4, %d", p.Cycle, p.Bytes, p.Approximate, sim.heapAt(4))
	}
}

// TestReadingAfterMarkIsNoFigure: a cycle goes unseen, and by the time
// the tracker sees the next, the program has allocated 4 MiB more. The
// reading then, after the mark, is no figure for the mark's heap: the peak
// is the next mark, which holds the 4 MiB, not the mark before, which the
// reading after it made as large (a 16 MiB job's peak was reported at 14).
func TestReadingAfterMarkIsNoFigure(t *testing.T) {
	var objs []mprofsim.Object
	for c := uint32(1); c <= 6; c++ {
		objs = append(objs, mprofsim.Object{Stack: 1, Size: 65536, Alloc: c})
	}
	objs = append(objs, mprofsim.Object{Stack: 3, Size: 4 << 20, Alloc: 4})
	sim := &simRuntime{objs: objs}
	tr := newSimTracker(t, sim)
	for _, c := range []uint32{1, 3, 4, 5} {
		sim.cycle = c
		tr.observe()
	}
	p, _ := tr.acc.Peak()
	if p.Cycle != 4 || p.Bytes != sim.heapAt(4) {
		t.Errorf("peak at mark %d, %d bytes; want mark 4, %d", p.Cycle, p.Bytes, sim.heapAt(4))
	}
}

// TestTimelineNotThroughLink: a link planted where the tracker's timeline
// goes is not written through: the tracker does not start, and the file the
// link points at is unchanged.
func TestTimelineNotThroughLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, raw.TimelineFile)); err != nil {
		t.Fatal(err)
	}
	if tr, err := newTracker(dir, defaultInterval, &simRuntime{}); err == nil {
		tr.timeline.f.Close()
		t.Error("the tracker started with a link in place of its timeline")
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
		t.Errorf("the file behind the link now holds %q", data)
	}
	// Its own files are the user's alone.
	fresh := filepath.Join(t.TempDir(), "run")
	tr, err := newTracker(fresh, defaultInterval, &simRuntime{})
	if err != nil {
		t.Fatal(err)
	}
	tr.timeline.f.Close()
	for _, p := range []string{fresh, filepath.Join(fresh, raw.TimelineFile)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v; want it the user's alone", p, st.Mode().Perm())
		}
	}
}

// TestOutsideAfterThePeak: after its peak the program maps 200 MiB outside
// the heap and allocates nothing more. The peak moves to that moment, with
// its heap as it was, and no GC is started to account the heap again.
func TestOutsideAfterThePeak(t *testing.T) {
	var objs []mprofsim.Object
	for c := uint32(1); c <= 3; c++ {
		objs = append(objs, mprofsim.Object{Stack: 1, Size: 8 << 20, Alloc: c})
	}
	sim := &simRuntime{objs: objs}
	tr := newSimTracker(t, sim)
	for c := uint32(1); c <= 5; c++ {
		sim.cycle = c
		tr.observe()
		tr.observe() // the cycle's last reading, right before the next mark
	}
	before, _ := tr.acc.Peak()
	sim.outside = 200 << 20
	tr.observe()
	p, _ := tr.acc.Peak()
	if got := p.Moment().Outside(); got != 200<<20 || p.Bytes != before.Bytes || p.Cycle != before.Cycle {
		t.Errorf("peak at mark %d with %d bytes and %d outside the heap; want mark %d, %d bytes and 200 MiB outside", p.Cycle, p.Bytes, got, before.Cycle, before.Bytes)
	}
	if sim.gcs != 0 {
		t.Errorf("the tracker started %d GC cycles to account a heap that had not changed", sim.gcs)
	}
	if tr.labels[p.Cycle] != "outside" {
		t.Errorf("the peak is labelled %q, want outside", tr.labels[p.Cycle])
	}
}

// TestNoGCWhileTheProgramsGCIsOff: memory outside the heap grows past the
// peak while the heap grows too, which has the tracker account the heap
// itself. A program that turned its GC off (GOGC=off,
// debug.SetGCPercent(-1)) gets no GC from the tracker while it runs, nor
// when idle; its end is still accounted.
func TestNoGCWhileTheProgramsGCIsOff(t *testing.T) {
	for _, off := range []bool{false, true} {
		var objs []mprofsim.Object
		for c := uint32(1); c <= 4; c++ {
			objs = append(objs, mprofsim.Object{Stack: 1, Size: 8 << 20, Alloc: c})
		}
		sim := &simRuntime{objs: objs, gcOff: off}
		tr := newSimTracker(t, sim)
		for c := uint32(1); c <= 3; c++ {
			sim.cycle = c
			tr.observe()
			tr.observe()
		}
		sim.outside = 200 << 20
		tr.observe()
		if tr.accountIfPeak("idle"); off && sim.gcs != 0 {
			t.Errorf("GC off: the tracker started %d GC cycles while the program ran", sim.gcs)
		}
		if !off && sim.gcs == 0 {
			t.Errorf("GC on: memory outside the heap grew past the peak and the tracker did not account the heap")
		}
		tr.final("return")
		if sim.gcs == 0 {
			t.Errorf("GC off %v: the program's end was not accounted", off)
		}
	}
}

// TestMomentNamesTheInstant: a peak's moment names the instant its figures
// describe. A mark the tracker started at the program's end is "return";
// when the figures are those of a reading before that mark, taken while
// the program still ran (garbage not yet swept), the moment is
// "before-gc", at that reading's time; a later reading with more memory
// outside the heap is "outside".
func TestMomentNamesTheInstant(t *testing.T) {
	tr := newSimTracker(t, &simRuntime{})
	tr.labels[7] = "return"
	mark := peak.Memory{At: 3230 * time.Millisecond, Heap: 100}
	before := peak.Memory{At: 3080 * time.Millisecond, Heap: 150}
	cases := []struct {
		p    peak.Peak
		name string
		at   time.Duration
	}{
		{peak.Peak{Cycle: 7, Mark: mark, Before: before}, "return", mark.At},
		{peak.Peak{Cycle: 7, Mark: mark, Before: before, Unswept: 50}, "before-gc", before.At},
		{peak.Peak{Cycle: 5, Mark: mark, Before: before}, "gc", mark.At},
		{peak.Peak{Cycle: 5, Mark: mark, Before: before, Unswept: 50, Later: peak.Memory{At: 4 * time.Second, Heap: 100}}, "gc", 4 * time.Second},
	}
	for _, c := range cases {
		if got, at := tr.momentName(c.p), peakTime(c.p); got != c.name || at != c.at {
			t.Errorf("peak at mark %d (unswept %d): moment %q at %v, want %q at %v", c.p.Cycle, c.p.Unswept, got, at, c.name, c.at)
		}
	}
}

// TestGCLogHeld: the GC log's lines of cycles close together are written
// together, once the first has waited gcLogFlushEvery, also when no cycle
// follows; at the end every cycle seen has its line, in order.
func TestGCLogHeld(t *testing.T) {
	sim := &simRuntime{objs: job()}
	tr := newSimTracker(t, sim)
	epoch := time.Unix(0, 0)
	now := epoch
	tr.now, tr.start = func() time.Time { return now }, epoch
	kinds := func() string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(tr.dir, raw.GCLogFile))
		if err != nil {
			t.Fatal(err)
		}
		var k []byte
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")[1:] {
			k = append(k, line[0])
			k = append(k, strings.Split(line, "\t")[1]...)
		}
		return string(k)
	}
	if got := kinds(); got != "s0" {
		t.Fatalf("gc.tsv at the start: %q, want the start's line s0", got)
	}
	for c := uint32(1); c <= 3; c++ {
		now = now.Add(time.Millisecond)
		sim.cycle = c
		tr.observe()
	}
	if got := kinds(); got != "s0" {
		t.Fatalf("gc.tsv after three cycles within %v: %q, want them held (s0)", gcLogFlushEvery, got)
	}
	now = now.Add(gcLogFlushEvery)
	tr.observe() // no new cycle
	if got := kinds(); got != "s0g1g2g3" {
		t.Fatalf("gc.tsv %v after the first cycle, no cycle since: %q, want s0g1g2g3", gcLogFlushEvery, got)
	}
	now = now.Add(time.Millisecond)
	sim.cycle = 4
	tr.observe()
	tr.final("return")
	got := kinds()
	if !strings.HasPrefix(got, "s0g1g2g3g4e4") {
		t.Fatalf("gc.tsv at the end: %q, want s0g1g2g3g4e4 and the final accounting's cycles", got)
	}
}
