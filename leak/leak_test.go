package leak

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// synthSite is one allocation site of a synthetic series: its in-use bytes
// at snapshot i, and the bytes it allocated between snapshot i-1 and i.
type synthSite struct {
	fn      string
	inuse   func(i int) int64
	allocAt func(i int) int64
}

// synth builds n snapshots taken every 2 seconds. Each site is one stack
// main.main → site.fn → runtime.makeslice, holding 64 KiB objects.
func synth(n int, sites ...synthSite) []Snapshot {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	alloc := make([]int64, len(sites))
	snaps := make([]Snapshot, n)
	for i := range snaps {
		snap := Snapshot{Time: start.Add(time.Duration(i) * 2 * time.Second), HasAlloc: true}
		for j, s := range sites {
			if s.allocAt != nil {
				alloc[j] += s.allocAt(i)
			}
			b := s.inuse(i)
			snap.Stacks = append(snap.Stacks, Stack{
				Frames: []Frame{
					{Func: "main.main", File: "/app/main.go", Line: 10},
					{Func: s.fn, File: "/app/main.go", Line: 20 + j},
					{Func: "runtime.makeslice", File: "/go/src/runtime/slice.go", Line: 100},
				},
				InuseBytes: b, InuseObjects: b / (64 * kib),
				AllocBytes: alloc[j], AllocObjects: alloc[j] / (64 * kib),
			})
		}
		snaps[i] = snap
	}
	return snaps
}

// keeps returns an allocation function for a site that allocates exactly
// what it adds to its in-use bytes.
func keeps(inuse func(int) int64) func(int) int64 {
	return func(i int) int64 {
		if i == 0 {
			return 0
		}
		if d := inuse(i) - inuse(i-1); d > 0 {
			return d
		}
		return 0
	}
}

func findSite(sites []Site, fn string) (Site, bool) {
	for _, s := range sites {
		if s.Function == fn {
			return s, true
		}
	}
	return Site{}, false
}

// TestLeakClassify classifies synthetic series: a steady leak, a leak
// that speeds up and one that stops with its load are suspects, ranked by
// growth; churn (even churn whose in-flight part happens to rise), a
// sawtooth, a one-off step and growth too small to matter are not.
func TestLeakClassify(t *testing.T) {
	leak := func(i int) int64 { return mib + int64(i)*mib }
	// In-flight buffers of 1 MiB requests, caught by the GC at random.
	noise := []int64{0, 3, 1, 0, 2, 0, 0, 1, 3, 0, 1, 2, 0, 0, 1, 0, 2, 1, 0, 3}
	churn := func(i int) int64 { return noise[i] * mib }
	// The worst case of churn: the in-flight part happens to rise at
	// every snapshot.
	risingChurn := func(i int) int64 { return int64(i) * 100 * kib }
	sawtooth := func(i int) int64 { return int64(i%5) * mib }
	step := func(i int) int64 {
		if i >= 10 {
			return 8 * mib
		}
		return 0
	}
	speedingUp := func(i int) int64 { return int64(math.Pow(2, float64(i)/2)) * 64 * kib }
	// A leak driven by a load that stopped after six snapshots.
	stopped := func(i int) int64 { return int64(min(i, 6)) * 2 * mib }
	small := func(i int) int64 { return int64(i) * kib }
	big := func(int) int64 { return 200 * mib } // makes 1% of the heap more than 1 MiB
	hundredMiB := func(i int) int64 {
		if i == 0 {
			return 0
		}
		return 100 * mib
	}

	res := Analyze(synth(20,
		synthSite{"main.leak", leak, keeps(leak)},
		synthSite{"main.churn", churn, hundredMiB},
		synthSite{"main.risingChurn", risingChurn, hundredMiB},
		synthSite{"main.sawtooth", sawtooth, keeps(sawtooth)},
		synthSite{"main.step", step, keeps(step)},
		synthSite{"main.speedingUp", speedingUp, keeps(speedingUp)},
		synthSite{"main.stopped", stopped, keeps(stopped)},
		synthSite{"main.small", small, keeps(small)},
		synthSite{"main.big", big, nil},
	))

	var names []string
	for _, s := range res.Suspects {
		names = append(names, s.Function)
	}
	if strings.Join(names, " ") != "main.speedingUp main.leak main.stopped" {
		t.Fatalf("suspects %q, want [main.speedingUp main.leak main.stopped] (largest growth first)", names)
	}

	l := res.Suspects[1]
	if l.GrowthBytes != 19*mib || l.InuseBytesFirst != mib || l.InuseBytesLast != 20*mib {
		t.Errorf("leak growth %d (%d → %d), want 19 MiB (1 → 20 MiB)", l.GrowthBytes, l.InuseBytesFirst, l.InuseBytesLast)
	}
	if l.GrowthObjects != 19*16 || l.AllocatedBytes != 19*mib {
		t.Errorf("leak objects %d, allocated %d; want %d, %d", l.GrowthObjects, l.AllocatedBytes, 19*16, 19*mib)
	}
	if math.Abs(l.BytesPerSecond-mib/2) > 1 || l.R2 < 0.9999 || l.Steadiness != 1 || l.Monotonicity != 1 {
		t.Errorf("leak rate %.0f B/s, R² %.4f, steadiness %.2f, monotonicity %.2f; want 524288, 1, 1, 1",
			l.BytesPerSecond, l.R2, l.Steadiness, l.Monotonicity)
	}
	if l.File != "/app/main.go" || l.Line != 20 {
		t.Errorf("leak site %s:%d, want the frame under runtime.makeslice, /app/main.go:20", l.File, l.Line)
	}
	for _, s := range []Site{res.Suspects[0], res.Suspects[2]} {
		if s.R2 >= DefaultMinR2 {
			t.Errorf("%s has R² %.3f: it no longer tests the gradual-growth rule", s.Function, s.R2)
		}
	}
	if s, _ := findSite(res.Sites, "main.stopped"); s.MaxStepShare != 1.0/6 || s.Monotonicity != 1 {
		t.Errorf("stopped: largest step %.3f, monotonicity %.2f; want 1/6 and 1", s.MaxStepShare, s.Monotonicity)
	}

	for _, fn := range []string{"main.churn", "main.risingChurn"} {
		c, ok := findSite(res.Churn, fn)
		if !ok {
			t.Errorf("%s is not in Churn %+v", fn, res.Churn)
			continue
		}
		if c.AllocatedBytes != 1900*mib {
			t.Errorf("%s allocated %d, want 1900 MiB", fn, c.AllocatedBytes)
		}
	}
	if c, _ := findSite(res.Sites, "main.risingChurn"); c.R2 < 0.99 || c.GrowthBytes < res.MinGrowth {
		t.Errorf("risingChurn R² %.2f growth %d: it no longer tests that churn is never a suspect", c.R2, c.GrowthBytes)
	}
	if s, _ := findSite(res.Sites, "main.sawtooth"); s.GrowthBytes != 4*mib || s.Steadiness < 0.75 {
		t.Errorf("sawtooth growth %d steadiness %.2f: it no longer tests the sawtooth", s.GrowthBytes, s.Steadiness)
	}
	if s, _ := findSite(res.Sites, "main.step"); s.GrowthBytes != 8*mib || s.Monotonicity != 1 || s.MaxStepShare != 1 {
		t.Errorf("step growth %d, monotonicity %.2f, largest step %.2f; want 8 MiB, 1, 1", s.GrowthBytes, s.Monotonicity, s.MaxStepShare)
	}
	if _, ok := findSite(res.Churn, "main.leak"); ok {
		t.Errorf("the leak is listed as churn")
	}
	if res.MinGrowth != mib {
		t.Errorf("MinGrowth %d, want 1 MiB (1%% of a heap over 100 MiB is more)", res.MinGrowth)
	}
}

// TestLeakSignificance checks the threshold: the smaller of 1 MiB and 1% of
// the heap, but at least 256 KiB.
func TestLeakSignificance(t *testing.T) {
	cases := []struct {
		heap, growth, minGrowth int64
		suspect                 bool
	}{
		{10 * mib, 400 * kib, 256 * kib, true},  // 1% is under the floor
		{10 * mib, 200 * kib, 256 * kib, false}, // under the floor
		{50 * mib, 600 * kib, 0, true},          // 1% of the heap
		{50 * mib, 400 * kib, 0, false},
		{500 * mib, 1100 * kib, mib, true}, // 1 MiB
		{500 * mib, 900 * kib, mib, false},
	}
	for _, c := range cases {
		grow := func(i int) int64 { return int64(i) * c.growth / 20 }
		rest := c.heap - c.growth
		res := Analyze(synth(21, synthSite{"main.grow", grow, keeps(grow)}, synthSite{"main.rest", func(int) int64 { return rest }, nil}))
		want := c.minGrowth
		if want == 0 {
			want = c.heap / 100
		}
		if res.MinGrowth != want {
			t.Errorf("heap %d: MinGrowth %d, want %d", c.heap, res.MinGrowth, want)
		}
		if got := len(res.Suspects) == 1; got != c.suspect {
			t.Errorf("heap %d, growth %d: suspect %v, want %v", c.heap, c.growth, got, c.suspect)
		}
	}
	grow := func(i int) int64 { return int64(i) * 20 * kib }
	rest := synthSite{"main.rest", func(int) int64 { return 600 * kib }, nil}
	res := Analyze(synth(21, synthSite{"main.grow", grow, keeps(grow)}, rest), MinGrowth(2*mib, 0.5))
	if len(res.Suspects) != 0 || res.MinGrowth != 500*kib {
		t.Errorf("MinGrowth(2 MiB, 50%%) of a 1000 KiB heap: threshold %d, suspects %+v; want 500 KiB and none", res.MinGrowth, res.Suspects)
	}
	res = Analyze(synth(21, synthSite{"main.grow", grow, keeps(grow)}, rest), MinGrowth(kib, 0))
	if len(res.Suspects) != 1 || res.MinGrowth != kib {
		t.Errorf("MinGrowth(1 KiB, 0): threshold %d, %d suspects; want 1 KiB and one", res.MinGrowth, len(res.Suspects))
	}
}

func TestLeakMinSnapshots(t *testing.T) {
	leak := func(i int) int64 { return int64(i) * 4 * mib }
	for n, want := range map[int]int{2: 0, 4: 0, 5: 1} {
		res := Analyze(synth(n, synthSite{"main.leak", leak, keeps(leak)}))
		if len(res.Suspects) != want {
			t.Errorf("%d snapshots: %d suspects, want %d", n, len(res.Suspects), want)
		}
	}
	res := Analyze(synth(2, synthSite{"main.leak", leak, keeps(leak)}), MinSnapshots(2))
	if len(res.Suspects) != 1 {
		t.Errorf("MinSnapshots(2), 2 snapshots: %d suspects, want 1", len(res.Suspects))
	}
}

// TestLeakStacks checks per-stack growth, stacks that appear and vanish, and
// the same stack listed twice in one profile.
func TestLeakStacks(t *testing.T) {
	a := []Frame{{Func: "main.main"}, {Func: "main.a", Line: 1}}
	b := []Frame{{Func: "main.main"}, {Func: "main.b", Line: 2}}
	c := []Frame{{Func: "main.main"}, {Func: "main.c", Line: 3}}
	t0 := time.Unix(1000, 0)
	snaps := []Snapshot{
		{Time: t0, HasAlloc: true, Stacks: []Stack{
			{Frames: a, InuseBytes: 100, InuseObjects: 1, AllocBytes: 100},
			{Frames: b, InuseBytes: 500, InuseObjects: 5, AllocBytes: 500},
		}},
		{Time: t0.Add(time.Second), HasAlloc: true, Stacks: []Stack{
			{Frames: a, InuseBytes: 300, InuseObjects: 2, AllocBytes: 400},
			{Frames: a, InuseBytes: 50, InuseObjects: 1, AllocBytes: 50},
			{Frames: c, InuseBytes: 70, InuseObjects: 7, AllocBytes: 70},
		}},
	}
	res := Analyze(snaps)
	want := map[string]StackGrowth{
		"main.a": {GrowthBytes: 250, GrowthObjects: 2, InuseBytesFirst: 100, InuseBytesLast: 350, AllocatedBytes: 350},
		"main.c": {GrowthBytes: 70, GrowthObjects: 7, InuseBytesFirst: 0, InuseBytesLast: 70, AllocatedBytes: 70},
		"main.b": {GrowthBytes: -500, GrowthObjects: -5, InuseBytesFirst: 500, InuseBytesLast: 0, AllocatedBytes: 0},
	}
	if len(res.Stacks) != 3 {
		t.Fatalf("%d stacks, want 3", len(res.Stacks))
	}
	for i, fn := range []string{"main.a", "main.c", "main.b"} {
		got := res.Stacks[i]
		if leaf := got.Frames[len(got.Frames)-1].Func; leaf != fn {
			t.Errorf("stack %d is %s, want %s", i, leaf, fn)
			continue
		}
		w := want[fn]
		if got.GrowthBytes != w.GrowthBytes || got.GrowthObjects != w.GrowthObjects || got.InuseBytesFirst != w.InuseBytesFirst ||
			got.InuseBytesLast != w.InuseBytesLast || got.AllocatedBytes != w.AllocatedBytes {
			t.Errorf("%s: %+v, want %+v", fn, got, w)
		}
	}
	if res.Heap[0] != 600 || res.Heap[1] != 420 || res.Duration() != time.Second {
		t.Errorf("heap %v over %v, want [600 420] over 1s", res.Heap, res.Duration())
	}
	if s, _ := findSite(res.Sites, "main.b"); len(s.Series) != 2 || s.Series[1] != 0 {
		t.Errorf("main.b series %v, want [500 0]", s.Series)
	}
	if s, _ := findSite(res.Sites, "main.c"); len(s.Series) != 2 || s.Series[0] != 0 {
		t.Errorf("main.c series %v, want [0 70]", s.Series)
	}
}

func TestLeakFromProfile(t *testing.T) {
	mainFn := &profile.Function{ID: 1, Name: "main.main", Filename: "/app/main.go"}
	handle := &profile.Function{ID: 2, Name: "main.handle", Filename: "/app/main.go"}
	remember := &profile.Function{ID: 3, Name: "main.remember", Filename: "/app/leak.go"}
	loc1 := &profile.Location{ID: 1, Line: []profile.Line{{Function: mainFn, Line: 5}}}
	// main.remember inlined into main.handle: Line[0] is the inner one.
	loc2 := &profile.Location{ID: 2, Line: []profile.Line{{Function: remember, Line: 30}, {Function: handle, Line: 12}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		},
		TimeNanos: 1234567890,
		Function:  []*profile.Function{mainFn, handle, remember},
		Location:  []*profile.Location{loc1, loc2},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{loc2, loc1}, Value: []int64{10, 1000, 4, 400}},
			{Location: []*profile.Location{loc2, loc1}, Value: []int64{1, 8000, 1, 8000}},
		},
	}
	snap, err := FromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.HasAlloc || snap.Time.UnixNano() != 1234567890 || len(snap.Stacks) != 2 {
		t.Fatalf("snapshot %+v", snap)
	}
	st := snap.Stacks[0]
	want := []Frame{{Func: "main.main", File: "/app/main.go", Line: 5}, {Func: "main.handle", File: "/app/main.go", Line: 12}, {Func: "main.remember", File: "/app/leak.go", Line: 30}}
	if len(st.Frames) != 3 || st.Frames[0] != want[0] || st.Frames[1] != want[1] || st.Frames[2] != want[2] {
		t.Errorf("frames %v, want %v (root first, inlined frames expanded)", st.Frames, want)
	}
	if st.InuseBytes != 400 || st.InuseObjects != 4 || st.AllocBytes != 1000 || st.AllocObjects != 10 {
		t.Errorf("values %+v", st)
	}
	res := Analyze([]Snapshot{snap, snap})
	if s, _ := findSite(res.Sites, "main.remember"); s.InuseBytesLast != 8400 {
		t.Errorf("main.remember holds %d, want both samples' 8400", s.InuseBytesLast)
	}

	cpu := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}}
	if _, err := FromProfile(cpu); err == nil || err.Error() != "not a heap profile: its sample types are samples/count, cpu/nanoseconds, with no inuse_space" {
		t.Errorf("a CPU profile: error %v", err)
	}
}

func TestLeakGrowthProfile(t *testing.T) {
	leak := func(i int) int64 { return int64(i) * mib }
	shrink := func(i int) int64 { return int64(10-i) * mib }
	res := Analyze(synth(6, synthSite{"main.leak", leak, keeps(leak)}, synthSite{"main.shrink", shrink, nil}))
	p := res.GrowthProfile()
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Sample) != 1 {
		t.Fatalf("%d samples, want only the stack that grew", len(q.Sample))
	}
	s := q.Sample[0]
	if s.Value[0] != 80 || s.Value[1] != 5*mib {
		t.Errorf("values %v, want [80 %d]", s.Value, 5*mib)
	}
	if leaf := s.Location[0].Line[0].Function.Name; leaf != "runtime.makeslice" {
		t.Errorf("first location %s, want the leaf", leaf)
	}
	if q.DurationNanos != int64(10*time.Second) || q.SampleType[1].Type != "inuse_space" {
		t.Errorf("duration %d, sample types %v", q.DurationNanos, q.SampleType)
	}
}

// TestLeakLongWatchIsBounded: a watch of 5000 snapshots (close to three
// hours at the default interval) keeps at most maxPoints points, and the
// leak's growth and rate are still exact.
func TestLeakLongWatchIsBounded(t *testing.T) {
	const n = 5000
	leakSite := func(i int) int64 { return int64(i) * 64 * kib }
	s := NewSeries()
	for _, snap := range synth(n, synthSite{fn: "main.remember", inuse: leakSite, allocAt: keeps(leakSite)}) {
		s.Add(snap)
	}
	if s.Len() > maxPoints {
		t.Fatalf("%d points kept, want at most %d", s.Len(), maxPoints)
	}
	res := s.Analyze()
	if len(res.Suspects) != 1 || res.Suspects[0].Function != "main.remember" {
		t.Fatalf("suspects %+v, want main.remember", res.Suspects)
	}
	sus := res.Suspects[0]
	if want := int64(n-1) * 64 * kib; sus.GrowthBytes != want {
		t.Errorf("growth %d, want %d: the first and the last snapshot must stay", sus.GrowthBytes, want)
	}
	if want := 32.0 * kib; math.Abs(sus.BytesPerSecond-want) > 1 {
		t.Errorf("rate %.1f B/s, want %.1f", sus.BytesPerSecond, want)
	}
	if d := res.Duration(); d != time.Duration(n-1)*2*time.Second {
		t.Errorf("duration %v, want the whole watch", d)
	}
}

// sizedHeapProfile is a heap profile as net/http/pprof serves it: the
// runtime keeps one record per (stack, allocation size), so one stack,
// main.main → main.remember → runtime.mallocgc, comes as one sample per
// size, interleaved with a sample of another stack. held[size] is the
// number of objects of that size the stack holds; allocated[size] the
// number it allocated since the start. A second stack reaches the same
// site, main.main → main.serve → main.remember, holding as many 8 KiB
// objects as the first.
func sizedHeapProfile(at time.Time, held, allocated map[int64]int64) *profile.Profile {
	mainFn := &profile.Function{ID: 1, Name: "main.main", Filename: "/app/main.go"}
	remember := &profile.Function{ID: 2, Name: "main.remember", Filename: "/app/main.go"}
	other := &profile.Function{ID: 3, Name: "main.other", Filename: "/app/main.go"}
	malloc := &profile.Function{ID: 4, Name: "runtime.mallocgc", Filename: "/go/src/runtime/malloc.go"}
	serve := &profile.Function{ID: 5, Name: "main.serve", Filename: "/app/main.go"}
	locMain := &profile.Location{ID: 1, Line: []profile.Line{{Function: mainFn, Line: 5}}}
	locServe := &profile.Location{ID: 5, Line: []profile.Line{{Function: serve, Line: 40}}}
	locRemember := &profile.Location{ID: 2, Line: []profile.Line{{Function: remember, Line: 20}}}
	locOther := &profile.Location{ID: 3, Line: []profile.Line{{Function: other, Line: 30}}}
	locMalloc := &profile.Location{ID: 4, Line: []profile.Line{{Function: malloc, Line: 1000}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:     512 * kib,
		TimeNanos:  at.UnixNano(),
		Function:   []*profile.Function{mainFn, remember, other, malloc, serve},
		Location:   []*profile.Location{locMain, locRemember, locOther, locMalloc, locServe},
	}
	stack := []*profile.Location{locMalloc, locRemember, locMain} // leaf first
	for i, size := range []int64{8 * kib, 24 * kib, 40 * kib} {
		p.Sample = append(p.Sample, &profile.Sample{
			Location: stack,
			Value:    []int64{allocated[size], allocated[size] * size, held[size], held[size] * size},
			NumLabel: map[string][]int64{"bytes": {size}},
		})
		if i == 0 {
			p.Sample = append(p.Sample, &profile.Sample{
				Location: []*profile.Location{locMalloc, locOther, locMain},
				Value:    []int64{1, mib, 1, mib},
				NumLabel: map[string][]int64{"bytes": {mib}},
			})
		}
	}
	n, a := held[8*kib], allocated[8*kib]
	p.Sample = append(p.Sample, &profile.Sample{
		Location: []*profile.Location{locMalloc, locRemember, locServe, locMain},
		Value:    []int64{a, a * 8 * kib, n, n * 8 * kib},
		NumLabel: map[string][]int64{"bytes": {8 * kib}},
	})
	return p
}

// TestLeakSameStackManySizes feeds the analysis heap profiles in which one
// stack has a sample per allocation size: every figure of the stack must be
// the sum over the sizes, and every figure of its site the sum over its
// stacks, in the series, the summary and the growth profile alike.
func TestLeakSameStackManySizes(t *testing.T) {
	sizes := []int64{8 * kib, 24 * kib, 40 * kib}
	start := time.Unix(1_700_000_000, 0)
	var snaps []Snapshot
	for i := range 6 {
		held, allocated := map[int64]int64{}, map[int64]int64{}
		for j, size := range sizes {
			// Size j holds j+1 objects at the start and gains j+1 per
			// snapshot; it allocated twice what it holds.
			held[size] = int64((j + 1) * (i + 1))
			allocated[size] = 2 * held[size]
		}
		p := sizedHeapProfile(start.Add(time.Duration(i)*time.Second), held, allocated)
		if err := p.CheckValid(); err != nil {
			t.Fatal(err)
		}
		snap, err := FromProfile(p)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, snap)
	}
	// At snapshot i the first stack holds (i+1)·(1·8 + 2·24 + 3·40) KiB =
	// (i+1)·176 KiB in (i+1)·6 objects, the second (i+1)·8 KiB in i+1, and
	// they allocated twice that.
	const stackStep, perStep, objsPerStep = 176 * kib, 184 * kib, 7
	res := Analyze(snaps, MinGrowth(kib, 0))

	site, ok := findSite(res.Sites, "main.remember")
	if !ok {
		t.Fatalf("no site main.remember in %+v", res.Sites)
	}
	if site.InuseBytesFirst != perStep || site.InuseBytesLast != 6*perStep || site.GrowthBytes != 5*perStep {
		t.Errorf("main.remember in use %d → %d, growth %d; want %d → %d, growth %d (the sum over its sizes)",
			site.InuseBytesFirst, site.InuseBytesLast, site.GrowthBytes, perStep, 6*perStep, 5*perStep)
	}
	if site.GrowthObjects != 5*objsPerStep || site.InuseObjectsLast != 6*objsPerStep || site.AllocatedBytes != 2*5*perStep {
		t.Errorf("main.remember objects +%d (%d last), allocated %d; want +%d (%d), %d",
			site.GrowthObjects, site.InuseObjectsLast, site.AllocatedBytes, 5*objsPerStep, 6*objsPerStep, 2*5*perStep)
	}
	for i, v := range site.Series {
		if want := int64(i+1) * perStep; v != want {
			t.Errorf("main.remember series[%d] = %d, want %d", i, v, want)
		}
	}
	if len(res.Suspects) != 1 || res.Suspects[0].GrowthBytes != 5*perStep {
		t.Errorf("suspects %+v, want main.remember growing by %d", res.Suspects, 5*perStep)
	}
	if want := int64(6*perStep + mib); res.Heap[5] != want {
		t.Errorf("heap at the last snapshot %d, want %d", res.Heap[5], want)
	}
	if len(res.Stacks) != 3 || res.Stacks[0].GrowthBytes != 5*stackStep || res.Stacks[0].InuseBytesLast != 6*stackStep ||
		res.Stacks[0].GrowthObjects != 5*6 || res.Stacks[0].AllocatedBytes != 2*5*stackStep {
		t.Errorf("stacks %+v, want main.main → main.remember first, growing by %d to %d in +%d objects, allocating %d",
			res.Stacks, 5*stackStep, 6*stackStep, 5*6, 2*5*stackStep)
	}

	s := res.Summary("u")
	if len(s.Suspects) != 1 || s.Suspects[0].GrowthBytes != 5*perStep || s.HeapBytesLast != 6*perStep+mib {
		t.Errorf("summary suspects %+v, heap last %d", s.Suspects, s.HeapBytesLast)
	}
	g := res.GrowthProfile()
	if len(g.Sample) != 2 || g.Sample[0].Value[0] != 5*6 || g.Sample[0].Value[1] != 5*stackStep ||
		g.Sample[1].Value[0] != 5 || g.Sample[1].Value[1] != 5*8*kib {
		t.Errorf("growth profile samples %v, want [%d %d] and [5 %d]", g.Sample, 5*6, 5*stackStep, 5*8*kib)
	}
}

// manyStacks is two snapshots of n distinct stacks, each 16 frames deep
// below main.main, one bit of its number a frame as in
// testdata/manystacks; stack i grows by (i%7)·4 KiB, so that many stacks
// grow alike and their order falls to their frames.
func manyStacks(n int) []Snapshot {
	t0 := time.Unix(1000, 0)
	snaps := []Snapshot{{Time: t0}, {Time: t0.Add(time.Second)}}
	for i := 0; i < n; i++ {
		frames := []Frame{{Func: "main.main", File: "/app/main.go", Line: 10}}
		for d := 0; d < 16; d++ {
			frames = append(frames, Frame{Func: "main.walk", File: "/app/main.go", Line: 20 + (i>>d)&1})
		}
		frames = append(frames, Frame{Func: "main.keep", File: "/app/main.go", Line: 30})
		snaps[0].Stacks = append(snaps[0].Stacks, Stack{Frames: frames, InuseBytes: 4 * kib, InuseObjects: 1})
		snaps[1].Stacks = append(snaps[1].Stacks, Stack{Frames: frames, InuseBytes: 4*kib + int64(i%7)*4*kib, InuseObjects: 1 + int64(i%7)})
	}
	return snaps
}

// TestLeakStacksOrder: stacks come largest growth first, and stacks that
// grew alike in the order of their frames (stackKey), whatever order the
// snapshots list them in.
func TestLeakStacksOrder(t *testing.T) {
	snaps := manyStacks(600)
	for i := range snaps {
		slices.Reverse(snaps[i].Stacks)
	}
	res := Analyze(snaps)
	if len(res.Stacks) != 600 {
		t.Fatalf("%d stacks, want 600", len(res.Stacks))
	}
	for i := 1; i < len(res.Stacks); i++ {
		a, b := res.Stacks[i-1], res.Stacks[i]
		if a.GrowthBytes < b.GrowthBytes || a.GrowthBytes == b.GrowthBytes && stackKey(a.Frames) >= stackKey(b.Frames) {
			t.Fatalf("stack %d (growth %d) before stack %d (growth %d), out of order:\n%v\n%v", i-1, a.GrowthBytes, i, b.GrowthBytes, a.Frames, b.Frames)
		}
	}
	if g := res.Stacks[0].GrowthBytes; g != 6*4*kib {
		t.Errorf("largest growth %d, want %d", g, 6*4*kib)
	}
}

// BenchmarkLeakAnalyze measures Analyze on two snapshots of many distinct
// stacks: its time per stack should stay flat as they grow.
func BenchmarkLeakAnalyze(b *testing.B) {
	for _, n := range []int{1 << 14, 1 << 17} {
		b.Run(fmt.Sprintf("stacks=%d", n), func(b *testing.B) {
			snaps := manyStacks(n)
			for b.Loop() {
				Analyze(snaps)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/stack")
		})
	}
}
