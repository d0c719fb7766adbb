package pacer

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// testdata/pacing.tsv is the tracker's log of testdata/pacing run under
// gofil at the default settings (GOGC=100, no limit), in its first form: a
// job whose live heap grew until it ended, without the report phase it has
// now.
func load(t *testing.T) *Log {
	t.Helper()
	l := loadFile(t, "testdata/pacing.tsv")
	if len(l.Points) < 20 {
		t.Fatalf("%d points", len(l.Points))
	}
	return l
}

func loadFile(t *testing.T, name string) *Log {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestGoalIsTheRuntimes: the goal the model sets at a mark is the one the
// runtime set (/gc/heap/goal, logged beside the live heap, stacks and
// globals it was computed from), within 0.1%.
func TestGoalIsTheRuntimes(t *testing.T) {
	l := load(t)
	n := 0
	for _, p := range l.Points {
		if p.Kind != kindCycle || p.Limit != math.MaxInt64 {
			continue
		}
		got := goalAt(Settings{GOGC: p.GOGC}, p.Live, p)
		if d := math.Abs(float64(got)-float64(p.Goal)) / float64(p.Goal); d > 0.001 {
			t.Errorf("cycle %d: goal %d, the runtime's %d", p.Cycle, got, p.Goal)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d cycles checked", n)
	}
}

// TestReplayOfTheRunItself: replayed under the run's own settings, the
// model gives the run's own peak within 5% and its GC cycles within 10%.
// The runtime starts a cycle before the heap reaches the goal, so that its
// mark ends there; the replay ends each cycle at the share of its runway
// the run's cycles used (RunwayUsed): taking the whole runway, it made
// 25 cycles of the run's 30.
func TestReplayOfTheRunItself(t *testing.T) {
	l := load(t)
	actual, ok := l.Actual()
	if !ok || actual != (Settings{GOGC: 100}) {
		t.Fatalf("actual settings %v, %v", actual, ok)
	}
	peak, cycles, ok := l.Measured()
	if !ok {
		t.Fatal("nothing measured")
	}
	p, ok := l.Replay(actual)
	if !ok {
		t.Fatal("no replay")
	}
	t.Logf("measured %d bytes, %d cycles; predicted %d bytes, %d cycles", peak, cycles, p.PeakHeap, p.Cycles)
	if d := math.Abs(float64(p.PeakHeap)/float64(peak) - 1); d > 0.05 {
		t.Errorf("peak %d, the run's %d (%.1f%% off)", p.PeakHeap, peak, 100*d)
	}
	if used := l.RunwayUsed(); used < 0.7 || used > 0.95 {
		t.Errorf("the run's cycles used %.2f of their runway, want 0.7 to 0.95: short of the goal, not past it", used)
	}
	if d := math.Abs(float64(p.Cycles)/float64(cycles) - 1); d > 0.10 {
		t.Errorf("cycles %d, the run's %d", p.Cycles, cycles)
	}
}

// TestReplayOrder: a larger GOGC gives a larger peak and fewer cycles; a
// memory limit keeps the peak under it.
func TestReplayOrder(t *testing.T) {
	l := load(t)
	var last Prediction
	for i, g := range []int64{25, 50, 100, 200, 400} {
		p, ok := l.Replay(Settings{GOGC: g})
		if !ok {
			t.Fatal("no replay")
		}
		if i > 0 && (p.PeakHeap <= last.PeakHeap || p.Cycles >= last.Cycles) {
			t.Errorf("GOGC=%d: %d bytes, %d cycles; GOGC=%d: %d bytes, %d cycles", g, p.PeakHeap, p.Cycles, last.GOGC, last.PeakHeap, last.Cycles)
		}
		last = p
	}
	live, nonHeap := l.LargestLive()
	limit := live + live/4 + nonHeap
	for _, gogc := range []int64{100, -1} {
		p, _ := l.Replay(Settings{GOGC: gogc, Limit: limit})
		if p.PeakHeap > limit-limit/100*3 || p.PeakHeap < live {
			t.Errorf("GOGC=%d, limit %d: peak %d, live %d", gogc, limit, p.PeakHeap, live)
		}
	}
	off, _ := l.Replay(Settings{GOGC: -1})
	if off.Cycles != 0 || off.PeakHeap < l.Points[len(l.Points)-1].Allocs/2 {
		t.Errorf("GOGC=off: %d cycles, peak %d", off.Cycles, off.PeakHeap)
	}
}

// TestGCOffWithForcedGCs: under GOGC=off a program that calls runtime.GC
// has a cycle at each call and none other; the peak is the heap at the
// largest of them, and is never more than was allocated.
func TestGCOffWithForcedGCs(t *testing.T) {
	const none = math.MaxInt64
	l := &Log{Points: []Point{
		{Kind: 's', Heap: 1 << 20, Allocs: 1 << 20, GOGC: -1, Limit: none},
		{Kind: 'f', Cycle: 1, Allocs: 100 << 20, Live: 10 << 20, Heap: 10 << 20, GOGC: -1, Limit: none},
		{Kind: 'f', Cycle: 2, Allocs: 300 << 20, Live: 20 << 20, Heap: 20 << 20, GOGC: -1, Limit: none},
		{Kind: 'e', Cycle: 2, Allocs: 350 << 20, Live: 20 << 20, Heap: 70 << 20, GOGC: -1, Limit: none},
	}}
	p, ok := l.Replay(Settings{GOGC: -1})
	// The heap at the second forced mark: 10 MiB live at the first, and
	// 200 MiB allocated since.
	if !ok || p.Cycles != 2 || p.PeakHeap != 210<<20 {
		t.Errorf("GOGC=off: %d cycles, peak %d; want 2 cycles, peak %d", p.Cycles, p.PeakHeap, 210<<20)
	}
}

// TestParseSkipsBadLines: lines cut short, garbled or too long (a run of
// NULs a crash left) are skipped, not fatal.
func TestParseSkipsBadLines(t *testing.T) {
	in := "# head\ns\t0\t1\t2\t3\t4\t5\t6\t7\t8\t100\t9\nx\t1\t2\n" + strings.Repeat("\x00", 10000) + "\ng\t1\t2\t3\t4\t5\t6\t7\t8\t9\t-1\t10\ng\t2\t3\t4"
	l, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Points) != 2 || l.Points[1].GOGC != -1 || l.Points[1].Limit != 10 || l.Points[1].NonHeap != 9 {
		t.Fatalf("%+v", l.Points)
	}
}

// FuzzParse: any input is parsed or refused without a panic, and what is
// parsed replays within its bounds.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("testdata/pacing.tsv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("s\t0\t0\t0\t0\t0\t0\t0\t0\t0\t-1\t1\ne\t0\t0\t18446744073709551615\t0\t0\t0\t0\t0\t0\t-1\t1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		l.Measured()
		l.LargestLive()
		// No heap can be larger than the start's and everything allocated
		// since.
		var bound uint64
		if len(l.Points) > 0 {
			first, last := l.Points[0], l.Points[len(l.Points)-1]
			for _, p := range l.Points {
				if p.Kind == 'e' {
					last = p
					break
				}
				last = p
			}
			bound = add64(first.Heap, sub(last.Allocs, first.Allocs))
		}
		for _, s := range []Settings{{GOGC: 100}, {GOGC: -1, Limit: 1 << 20}, {GOGC: 0}, {GOGC: -1}} {
			if p, ok := l.Replay(s); ok && p.PeakHeap > bound {
				t.Fatalf("%v: peak %d, more than the start's heap and all allocated since, %d", s, p.PeakHeap, bound)
			}
		}
	})
}

// TestCyclesSeenOnlyAtTheEnd: a log whose tracker saw the program's GC
// cycles only as it ended still counts them.
func TestCyclesSeenOnlyAtTheEnd(t *testing.T) {
	text := "s\t0\t1467\t24448\t0\t24448\t4194304\t0\t161450\t4143496\t100\t9223372036854775807\n" +
		"e\t5\t361134\t148965320\t76014976\t76014224\t380758536\t9464\t161450\t11146904\t400\t9223372036854775807\n" +
		"f\t5\t361167\t148965320\t76014976\t76014224\t380758536\t9464\t161450\t11179672\t400\t9223372036854775807\n"
	l, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if _, cycles, ok := l.Measured(); !ok || cycles != 5 {
		t.Errorf("measured %d cycles (%v), want the 5 the program ran", cycles, ok)
	}
}

// TestReplayHeld: testdata/example.tsv is the tracker's log of
// testdata/example under gofil at the default settings. Its data grows to
// 353 MiB, all of it held until the line before its runtime.GC (GC 8,
// "f"), whose mark finds next to nothing live; its last regular mark (GC
// 7) found 193 MiB. Replay reads the 165 MiB allocated between them as
// garbage all along, and so predicts that a limit a quarter above 193 MiB
// keeps the peak near it; ReplayHeld reads them as held until the forced
// GC, as they were, and predicts the peak the run had whatever the
// setting. The pacing log has no such GC: both readings are the same.
func TestReplayHeld(t *testing.T) {
	l := loadFile(t, "testdata/example.tsv")
	if !l.HeldDiffers() {
		t.Fatal("the example's log: no forced GC found less live than the mark before")
	}
	actual, _ := l.Actual()
	measured, _, _ := l.Measured()
	lim := Settings{GOGC: 100, Limit: 248 << 20}
	for _, c := range []struct {
		name string
		s    Settings
	}{{"its own settings", actual}, {"GOMEMLIMIT=248MiB", lim}, {"GOGC=25", Settings{GOGC: 25}}} {
		p, ok := l.ReplayHeld(c.s)
		if !ok || math.Abs(float64(p.PeakHeap)/float64(measured)-1) > 0.05 {
			t.Errorf("held, under %s: peak %d, want the run's %d ±5%%", c.name, p.PeakHeap, measured)
		}
	}
	if p, ok := l.Replay(lim); !ok || float64(p.PeakHeap) > 0.8*float64(measured) {
		t.Errorf("Replay under the limit: peak %d; want the garbage reading's, under 80%% of %d", p.PeakHeap, measured)
	}
	pacing := load(t)
	if pacing.HeldDiffers() {
		t.Fatal("the pacing log: a forced GC found less live than the mark before")
	}
	a, _ := pacing.Replay(Settings{GOGC: 50})
	b, _ := pacing.ReplayHeld(Settings{GOGC: 50})
	if a != b {
		t.Errorf("pacing at GOGC=50: Replay %+v, ReplayHeld %+v", a, b)
	}
}

// TestTrackerHeapTakenOut: what the tracker says it held itself (the log's
// own_bytes) is not the program's. testdata/pacing's log, with 40 MiB of
// the tracker's added to every live heap, heap and goal (the run shifted
// by a tracker of constant size) and said in own_bytes, replays as the log
// without it: the same peaks, GC cycles and live heap for every setting.
func TestTrackerHeapTakenOut(t *testing.T) {
	data, err := os.ReadFile("testdata/pacing.tsv")
	if err != nil {
		t.Fatal(err)
	}
	const own = 40 << 20
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if strings.HasPrefix(line, "#") || len(f) != 12 {
			b.WriteString(line + "\n")
			continue
		}
		for _, i := range []int{4, 5, 6} { // live_bytes, heap_bytes, goal_bytes
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			f[i] = strconv.FormatUint(v+own, 10)
		}
		b.WriteString(strings.Join(append(f, strconv.Itoa(own)), "\t") + "\n")
	}
	with, err := Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	without := load(t)
	if len(with.Points) != len(without.Points) {
		t.Fatalf("%d points read with the tracker's heap in the log, %d without", len(with.Points), len(without.Points))
	}
	wp, wc, _ := with.Measured()
	op, oc, _ := without.Measured()
	if wp != op || wc != oc {
		t.Errorf("measured %d bytes in %d cycles with the tracker's heap in the log, %d in %d without", wp, wc, op, oc)
	}
	wl, _ := with.LargestLive()
	ol, _ := without.LargestLive()
	if wl != ol {
		t.Errorf("largest live heap %d with the tracker's heap in the log, %d without", wl, ol)
	}
	for _, s := range []Settings{{GOGC: 100}, {GOGC: 25}, {GOGC: 400}, {GOGC: 100, Limit: 100 << 20}} {
		w, okw := with.Replay(s)
		o, oko := without.Replay(s)
		if okw != oko || w.PeakHeap != o.PeakHeap || w.Cycles != o.Cycles {
			t.Errorf("%v: predicted %d bytes in %d cycles with the tracker's heap in the log, %d in %d without", s, w.PeakHeap, w.Cycles, o.PeakHeap, o.Cycles)
		}
	}
}
