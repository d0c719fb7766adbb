package report

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

const evil = `<script>alert("x")</script>`

// heapOf builds a Heap from stacks given root first.
func heapOf(stacks []heap.Stack) *heap.Heap {
	h := &heap.Heap{Raw: raw.Profile{Reason: "gc", Cycle: 7, AtNS: int64(1500 * time.Millisecond), Rate: 512 << 10}}
	for _, s := range stacks {
		h.Stacks = append(h.Stacks, s)
		h.Bytes += s.Bytes
		h.Objects += s.Objects
	}
	h.Raw.Bytes, h.Raw.Objects, h.Raw.ExactBytes = h.Bytes, h.Objects, uint64(h.Bytes)+4096
	return h
}

func evilRun() (rundir.Meta, *rundir.Run) {
	evilFile := `/src/` + evil + `&"quoted".go`
	stacks := []heap.Stack{
		{Frames: []heap.Frame{{Func: "runtime.main", File: "/go/src/runtime/proc.go", Line: 283}, {Func: "main.main", File: "/src/app/main.go", Line: 10}, {Func: "main." + evil, File: evilFile, Line: 3}},
			Bytes: 300 << 20, Objects: 300},
		{Frames: []heap.Frame{{Func: "runtime.main", File: "/go/src/runtime/proc.go", Line: 283}, {Func: "main.main", File: "/src/app/main.go", Line: 11}, {Func: `example.com/a&b."quoted"&amp;`, File: `/src/a&b/"x".go`, Line: 5}},
			Bytes: 100 << 20, Objects: 100},
		{Frames: []heap.Frame{{Func: "runtime.main", File: "/go/src/runtime/proc.go", Line: 283}, {Func: "main.main", File: "/src/app/main.go", Line: 12}, {Func: `example.com/x.back\slash\n"`, File: `C:\src\x.go`, Line: 5}},
			Bytes: 10 << 20, Objects: 10},
	}
	run := &rundir.Run{Peak: heapOf(stacks)}
	for i := 0; i <= 150; i++ {
		v := uint64(i) << 22
		run.Timeline = append(run.Timeline, rundir.TimelinePoint{At: time.Duration(i) * 20 * time.Millisecond,
			Heap: v, RSS: v + 64<<20, GoMapped: v + 60<<20, GoReleased: 1 << 20})
	}
	meta := rundir.Meta{
		Command:     []string{"./" + evil, `--flag="&"`},
		Target:      "./" + evil,
		Duration:    3 * time.Second,
		MaxRSS:      700 << 20,
		MemoryLimit: 1 << 30,
		Notes:       []string{"note " + evil},
		RSS:         []rundir.RSSPoint{{At: 10 * time.Millisecond, RSS: 60 << 20}, {At: 2 * time.Second, RSS: 650 << 20}},
	}
	return meta, run
}

// TestWriteHTMLEscapes checks that no name from the profile reaches the
// page unescaped: function and file names, the command and a note all
// hold a <script> element, quotes and ampersands.
func TestWriteHTMLEscapes(t *testing.T) {
	dir := t.TempDir()
	meta, run := evilRun()
	if _, err := WriteDir(dir, meta, run, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, rundir.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	if i := strings.Index(strings.ToLower(page), "<script>alert"); i >= 0 {
		t.Fatalf("index.html holds a raw <script>alert at byte %d: %q", i, page[max(0, i-200):min(len(page), i+100)])
	}
	// The page's own scripts are the flamegraphs' two, its own and the
	// timeline's data: nothing else opens a script element.
	if n := strings.Count(strings.ToLower(page), "<script"); n != 4 {
		t.Errorf("index.html opens %d script elements, want 4", n)
	}
	for _, want := range []string{
		"&lt;script&gt;alert",       // escaped in HTML text and SVG
		`id="peak"`, `id="peakrev"`, // both flamegraphs
		`id="timeline"`, `class="graph"`, // the timeline and graphviz's call graph
		`id="sites-table"`, `href="peak.pb.gz"`, `href="peak.folded"`,
		"go tool pprof -http=: peak.pb.gz",
		"memory limit 1.00 GiB",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(page, "http://") && strings.Contains(page, "<link rel=\"stylesheet\"") {
		t.Error("index.html loads a stylesheet")
	}
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[1], ":") && !strings.HasPrefix(m[1], "data:") {
			t.Errorf("index.html refers to %q: the page must need no network", m[1])
		}
	}
}

// TestWriteHTMLWithoutPeak renders runs that recorded no heap: a prebuilt
// binary watched from outside, and a run that recorded nothing at all.
func TestWriteHTMLWithoutPeak(t *testing.T) {
	for _, c := range []struct {
		name string
		meta rundir.Meta
		want []string
	}{
		{"prebuilt", rundir.Meta{Target: "./job", NoSource: true, MaxRSS: 300 << 20, Duration: time.Second,
			RSS: []rundir.RSSPoint{{At: 0, RSS: 10 << 20}, {At: 500 * time.Millisecond, RSS: 300 << 20}, {At: time.Second, RSS: 20 << 20}}},
			[]string{`id="timeline"`, "prebuilt binary", "300.0 MiB", `"t":[]`}},
		{"nothing", rundir.Meta{Target: "./job"}, []string{"No timeline was recorded", "No allocation sites were recorded"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			run := &rundir.Run{}
			if _, err := WriteDir(dir, c.meta, run, nil); err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(filepath.Join(dir, rundir.HTMLFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(string(page), w) {
					t.Errorf("index.html lacks %q", w)
				}
			}
			for _, bad := range []string{`id="peak"`, ":null", "peak.pb.gz</a>"} {
				if strings.Contains(string(page), bad) {
					t.Errorf("index.html holds %q", bad)
				}
			}
		})
	}
}

// TestCallGraphDOT checks the DOT text's escaping and the graph's limits.
func TestCallGraphDOT(t *testing.T) {
	_, run := evilRun()
	g := buildCallGraph(run.Peak)
	dot := string(g.dot())
	for _, bad := range []string{evil, `"quoted"&amp;`, `back\slash`} {
		if strings.Contains(dot, bad) {
			t.Errorf("DOT holds %q unescaped:\n%s", bad, dot)
		}
	}
	if !strings.Contains(dot, `&amp;lt;script&amp;gt;`) && !strings.Contains(dot, `<script>alert(\"x\")</script>`) {
		t.Errorf("DOT lacks the escaped name:\n%s", dot)
	}
	svg, err := svgOf(context.Background(), g.dot())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(svg), "<script") {
		t.Fatalf("call graph SVG holds a script")
	}
	if !strings.Contains(svg, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") {
		t.Errorf("call graph SVG lacks the escaped function name:\n%s", svg)
	}
	if !strings.Contains(svg, `back\slash\n&quot;`) {
		t.Errorf("call graph SVG changed a backslash in a name:\n%s", svg)
	}
}

func TestCallGraphLimits(t *testing.T) {
	h := syntheticHeap(5000, 1)
	g := buildCallGraph(h)
	if len(g.nodes) != callGraphMaxNodes || g.droppedNodes == 0 {
		t.Errorf("%d nodes shown, %d dropped; want %d shown", len(g.nodes), g.droppedNodes, callGraphMaxNodes)
	}
	min := int64(math.Ceil(callGraphMinEdge * float64(h.Bytes)))
	for _, e := range g.edges {
		if e.bytes < min {
			t.Errorf("edge %s → %s holds %d bytes, under 0.5%% (%d)", g.nodes[e.from].fn, g.nodes[e.to].fn, e.bytes, min)
		}
		if e.bytes > h.Bytes {
			t.Errorf("edge %s → %s holds %d bytes, more than the heap", g.nodes[e.from].fn, g.nodes[e.to].fn, e.bytes)
		}
	}
	// The graph ends at each stack's allocation site: its nodes are the
	// functions of the stacks cut there, largest first.
	cut := &heap.Heap{Bytes: h.Bytes, Objects: h.Objects}
	for _, st := range h.Stacks {
		st.Frames = st.Frames[:st.Site()+1]
		cut.Stacks = append(cut.Stacks, st)
	}
	fns := cut.Functions()
	for _, n := range g.nodes {
		if strings.HasPrefix(n.fn, "runtime.make") {
			t.Errorf("node %s is below an allocation site", n.fn)
		}
	}
	for i, n := range g.nodes {
		if n.inclusive < min {
			t.Errorf("node %s holds %d bytes, under 0.5%% (%d)", n.fn, n.inclusive, min)
		}
		if n.inclusive > h.Bytes || n.self > n.inclusive {
			t.Errorf("node %d %s: inclusive %d, self %d, heap %d", i, n.fn, n.inclusive, n.self, h.Bytes)
		}
		if fns[i].Function != n.fn || fns[i].Bytes != n.inclusive {
			t.Errorf("node %d is %s with %d bytes; Functions says %s with %d", i, n.fn, n.inclusive, fns[i].Function, fns[i].Bytes)
		}
	}
}

// syntheticHeap makes a heap of n distinct stacks, 4 to 16 frames deep,
// over 40 packages of 50 functions each, with sizes from 16 bytes to a few
// MiB spread like a real heap's: many small, few large.
func syntheticHeap(n int, seed uint64) *heap.Heap {
	rng := rand.New(rand.NewPCG(seed, 42))
	stacks := make([]heap.Stack, 0, n)
	for i := 0; i < n; i++ {
		depth := 2 + rng.IntN(13)
		frames := []heap.Frame{
			{Func: "runtime.main", File: "/usr/local/go/src/runtime/proc.go", Line: 283},
			{Func: "main.main", File: "/src/app/main.go", Line: 1 + i/1000},
		}
		for d := 0; d < depth; d++ {
			pkg := rng.IntN(40)
			fn := rng.IntN(50)
			if d < 3 {
				fn %= 5 // shared prefixes, as in real programs
			}
			frames = append(frames, heap.Frame{
				Func: fmt.Sprintf("example.com/app/pkg%02d.Func%02d", pkg, fn),
				File: fmt.Sprintf("/src/app/pkg%02d/file%02d.go", pkg, fn%7),
				Line: 10 + fn,
			})
		}
		frames = append(frames, heap.Frame{Func: "runtime.makeslice", File: "/usr/local/go/src/runtime/slice.go", Line: 1 + i%1000})
		size := int64(16 * math.Exp(rng.ExpFloat64()*2.2))
		stacks = append(stacks, heap.Stack{Frames: frames, Bytes: size, Objects: 1 + size/4096})
	}
	return heapOf(stacks)
}

// deepHeap makes a heap of n distinct stacks 31 frames deep, spread evenly
// over 2000 call paths that share nothing below main: the shape that
// gives a flamegraph the most frames wide enough to draw.
func deepHeap(n int) *heap.Heap {
	stacks := make([]heap.Stack, 0, n)
	for i := 0; i < n; i++ {
		c := i % 2000
		frames := []heap.Frame{{Func: "runtime.main", File: "/usr/local/go/src/runtime/proc.go", Line: 283}, {Func: "main.main", File: "/src/app/main.go", Line: 1}}
		for d := 0; d < 28; d++ {
			frames = append(frames, heap.Frame{Func: fmt.Sprintf("example.com/app/pkg%02d.Handler%04d_%02d", d, c, d), File: "/src/app/x.go", Line: 10 + d})
		}
		frames = append(frames, heap.Frame{Func: "runtime.makeslice", File: "/usr/local/go/src/runtime/slice.go", Line: 1 + i/2000})
		stacks = append(stacks, heap.Stack{Frames: frames, Bytes: 1000 + int64(i%7), Objects: 1})
	}
	return heapOf(stacks)
}

func syntheticRun(n int, deep bool) (rundir.Meta, *rundir.Run) {
	run := &rundir.Run{Peak: syntheticHeap(n, 7)}
	if deep {
		run.Peak = deepHeap(n)
	}
	for i := 0; i < 30000; i++ { // 10 minutes at 20 ms: downsampled
		v := uint64(1+i%997) << 20
		run.Timeline = append(run.Timeline, rundir.TimelinePoint{At: time.Duration(i) * 20 * time.Millisecond,
			Heap: v, RSS: v + 100<<20, GoMapped: v + 90<<20, GoReleased: 1 << 20})
	}
	return rundir.Meta{Command: []string{"./app"}, Target: "./app", Duration: 10 * time.Minute, MaxRSS: 2 << 30}, run
}

var (
	rootRE   = regexp.MustCompile(`<svg[^>]* id="(peak|peakrev)"[^>]* data-total="(\d+)"`)
	frameRE  = regexp.MustCompile(`<g class="f[^"]*" data-s="\d+" data-v="(\d+)" data-d="(\d+)">`)
	svgEndRE = regexp.MustCompile(`</svg>`)
)

// flameTotals returns, for each flamegraph on page, its total, its root
// frame's bytes and the sum of the frames one level below the root.
func flameTotals(t *testing.T, page string) map[string][3]int64 {
	t.Helper()
	out := map[string][3]int64{}
	for _, m := range rootRE.FindAllStringSubmatchIndex(page, -1) {
		id := page[m[2]:m[3]]
		total, _ := strconv.ParseInt(page[m[4]:m[5]], 10, 64)
		end := svgEndRE.FindStringIndex(page[m[1]:])
		body := page[m[1] : m[1]+end[0]]
		var root, level1 int64
		for _, f := range frameRE.FindAllStringSubmatch(body, -1) {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[2] {
			case "0":
				root += v
			case "1":
				level1 += v
			}
		}
		out[id] = [3]int64{total, root, level1}
	}
	return out
}

// TestWriteHTML100k checks that a profile of 100,000 distinct stacks gives
// a page under 10 MB whose flamegraphs keep every byte: frames too narrow
// to see are merged, never dropped.
func TestWriteHTML100k(t *testing.T) {
	if testing.Short() {
		t.Skip("large profile")
	}
	for _, deep := range []bool{false, true} {
		name := "random"
		if deep {
			name = "deep"
		}
		t.Run(name, func(t *testing.T) { testWriteHTMLLarge(t, deep) })
	}
}

func testWriteHTMLLarge(t *testing.T, deep bool) {
	meta, run := syntheticRun(100_000, deep)
	dir := t.TempDir()
	s := summary.Build(meta, run)
	var page bytes.Buffer
	start := time.Now()
	stats, err := renderHTML(context.Background(), &page, dir, meta, s, run)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	t.Logf("100,000 stacks: %.2f MB page in %v (graphviz %v)", float64(page.Len())/1e6, elapsed.Round(time.Millisecond), stats.Graphviz.Round(time.Millisecond))
	if page.Len() >= 10e6 {
		t.Errorf("page is %d bytes, want under 10 MB", page.Len())
	}
	totals := flameTotals(t, page.String())
	if len(totals) != 2 {
		t.Fatalf("found flamegraphs %v, want peak and peakrev", totals)
	}
	for id, v := range totals {
		if v[0] != run.Peak.Bytes || v[1] != run.Peak.Bytes || v[2] != run.Peak.Bytes {
			t.Errorf("%s: total %d, root %d, first level %d; want all %d", id, v[0], v[1], v[2], run.Peak.Bytes)
		}
	}
	n := strings.Count(page.String(), "<g class=\"f")
	t.Logf("%d frames drawn", n)
	if n < 6 {
		t.Errorf("the flamegraphs draw only %d frames", n)
	}
	if !strings.Contains(page.String(), `class="f o"`) {
		t.Error("no frames were merged into other")
	}
	if !strings.Contains(page.String(), `class="graph"`) {
		t.Error("no call graph")
	}
}

// BenchmarkWriteHTML100k measures WriteHTML on profiles of 100,000
// distinct stacks, of the two shapes of TestWriteHTML100k; the budget is
// 2 s and 10 MB.
func BenchmarkWriteHTML100k(b *testing.B) {
	for _, deep := range []bool{false, true} {
		name := "random"
		if deep {
			name = "deep"
		}
		b.Run(name, func(b *testing.B) {
			meta, run := syntheticRun(100_000, deep)
			dir := b.TempDir()
			s := summary.Build(meta, run)
			for b.Loop() {
				if err := WriteHTML(dir, meta, s, run); err != nil {
					b.Fatal(err)
				}
			}
			st, err := os.Stat(filepath.Join(dir, rundir.HTMLFile))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Size()), "page-bytes")
		})
	}
}

func TestTimelineDownsampleKeepsPeaks(t *testing.T) {
	n := 3*tlMaxPoints + 17
	ts := make([]float64, n)
	v := make([]uint64, n)
	for i := range ts {
		ts[i] = float64(20 * i)
		v[i] = 100
	}
	v[5000] = 900 // one 20 ms spike
	gotT, got := downsample2(ts, v)
	if len(gotT) > tlMaxPoints || len(gotT) != len(got) {
		t.Fatalf("%d times, %d values; want at most %d", len(gotT), len(got), tlMaxPoints)
	}
	if maxOf(got) != 900 {
		t.Errorf("the spike was lost: max %d", maxOf(got))
	}
	short := ts[:tlMaxPoints]
	if gotT, _ := downsample2(short, v[:tlMaxPoints]); len(gotT) != tlMaxPoints {
		t.Errorf("%d points were downsampled to %d", tlMaxPoints, len(gotT))
	}
}

// TestTimelineShowsShortPhase checks that a 200 ms phase in a one-minute
// run is drawn with all its points.
func TestTimelineShowsShortPhase(t *testing.T) {
	run := &rundir.Run{}
	for i := 0; i < 3000; i++ {
		p := rundir.TimelinePoint{At: time.Duration(i) * 20 * time.Millisecond, Heap: 10 << 20, RSS: 20 << 20}
		if i >= 1000 && i < 1010 { // 200 ms
			p.Heap, p.RSS = 500<<20, 510<<20
		}
		run.Timeline = append(run.Timeline, p)
	}
	tl := buildTimeline(rundir.Meta{}, &summary.Summary{}, run)
	if tl == nil {
		t.Fatal("no timeline")
	}
	high := 0
	for _, h := range tl.Data.Heap {
		if h == 500<<20 {
			high++
		}
	}
	if high != 10 {
		t.Errorf("the 200 ms phase has %d points in the chart, want 10", high)
	}
}

func TestTimelineLimit(t *testing.T) {
	run := &rundir.Run{Timeline: []rundir.TimelinePoint{{At: 0, RSS: 100 << 20}, {At: time.Second, RSS: 300 << 20}}}
	tl := buildTimeline(rundir.Meta{MemoryLimit: 512 << 20}, &summary.Summary{}, run)
	if !strings.Contains(tl.SVG, `class="tl-limit"`) || tl.Data.YMax < 512<<20 {
		t.Errorf("limit not drawn (ymax %v)", tl.Data.YMax)
	}
	tl = buildTimeline(rundir.Meta{MemoryLimit: 64 << 30}, &summary.Summary{}, run)
	if strings.Contains(tl.SVG, `class="tl-limit"`) || tl.Note == "" {
		t.Error("a limit far above the data was drawn, or not mentioned")
	}
}

func TestUserCode(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module myapp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stacks := []heap.Stack{{Frames: []heap.Frame{{Func: "main.main", File: filepath.Join(dir, "cmd", "job", "main.go")}}}}
	u := newUserCode(stacks)
	for _, c := range []struct {
		f    flamegraph.Frame
		want bool
	}{
		{flamegraph.Frame{Func: "main.main"}, true},
		{flamegraph.Frame{Func: "myapp/store.Load", File: filepath.Join(dir, "store", "load.go")}, true},
		{flamegraph.Frame{Func: "github.com/x/y.F", File: filepath.Join(dir, "vendor", "github.com", "x", "y", "f.go")}, false},
		{flamegraph.Frame{Func: "github.com/x/y.F", File: "/home/u/go/pkg/mod/github.com/x/y@v1.0.0/f.go"}, false},
		{flamegraph.Frame{Func: "encoding/json.Unmarshal", File: "/usr/local/go/src/encoding/json/decode.go"}, false},
		{flamegraph.Frame{Func: "runtime.makeslice", File: "/usr/local/go/src/runtime/slice.go"}, false},
	} {
		if got := u.IsUser(c.f); got != c.want {
			t.Errorf("IsUser(%s, %s) = %v, want %v", c.f.Func, c.f.File, got, c.want)
		}
	}
	// Without package main, the flamegraph package's rule applies.
	u = newUserCode(nil)
	if !u.IsUser(flamegraph.Frame{Func: "github.com/x/y.F"}) || u.IsUser(flamegraph.Frame{Func: "fmt.Sprintf"}) {
		t.Error("fallback rule not applied")
	}
}

func TestSourceLines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.go")
	if err := os.WriteFile(file, []byte("package x\n\n\tb := make([]byte, n) // "+evil+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newSourceCache()
	if got := c.line(file, 3); !strings.HasPrefix(got, "b := make([]byte, n)") {
		t.Errorf("line 3 = %q", got)
	}
	if got := c.line(file, 9); got != "" {
		t.Errorf("line 9 = %q, want none", got)
	}
	if got := c.line(filepath.Join(dir, "secret.txt"), 1); got != "" {
		t.Errorf("read a file that is not Go source: %q", got)
	}
}

// TestCallGraphTooltipBackslashes: Graphviz expands escapes such as \N in
// tooltips; a function name holding them must come out as written.
func TestCallGraphTooltipBackslashes(t *testing.T) {
	h := &heap.Heap{Bytes: 100, Objects: 1, Stacks: []heap.Stack{{
		Frames: []heap.Frame{{Func: "main.main", File: "/m.go", Line: 1}, {Func: `main.odd\N\G`, File: "/m.go", Line: 2}},
		Bytes:  100, Objects: 1,
	}}}
	svg, err := svgOf(context.Background(), buildCallGraph(h).dot())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg, `main.odd\N\G: 100 B with its callees`) {
		t.Errorf("the tooltip does not hold the name as written:\n%s", svg)
	}
}

// TestIncompleteReportSaysSo: when the page cannot be written, summary.json
// is still written, and its first field says the report is not complete
// and why; WriteDir returns the error.
func TestIncompleteReportSaysSo(t *testing.T) {
	dir := t.TempDir()
	// A directory where the page goes: renaming the page into place fails.
	if err := os.MkdirAll(filepath.Join(dir, rundir.HTMLFile, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := WriteDir(dir, rundir.Meta{Target: "./job"}, &rundir.Run{}, nil)
	if err == nil {
		t.Fatal("WriteDir reported no error")
	}
	data, rerr := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if rerr != nil {
		t.Fatalf("no summary.json: %v", rerr)
	}
	first := strings.SplitN(string(data), "\n", 3)
	if len(first) < 2 || !strings.HasPrefix(strings.TrimSpace(first[1]), `"incomplete": "writing the report page`) {
		t.Errorf("summary.json begins %q, want the incomplete field first", first[:min(2, len(first))])
	}
}

// TestApproximatePeakSaysSo: a peak from a pair across GC cycles the
// tracker did not see one by one is an upper bound, with a reading among
// those cycles as the least the heap was. The summary, the text on stderr
// and the page each say "at most", and give both figures.
func TestApproximatePeakSaysSo(t *testing.T) {
	meta, run := syntheticRun(10, false)
	r := &run.Peak.Raw
	r.Approximate = true
	r.ExactBytes, r.LeastBytes, r.LeastAtNS = 64<<20, 48<<20, int64(1200*time.Millisecond)
	s := summary.Build(meta, run)
	p := s.Peak
	if p == nil || !p.Approximate || p.LowerBoundBytes != 48<<20 || p.HeapBytesExact != 64<<20 {
		t.Fatalf("summary's peak: %+v", p)
	}
	notes := strings.Join(s.Notes, "\n")
	if !strings.Contains(notes, "upper bound") || !strings.Contains(notes, "at least that and at most 64.0 MiB") || !strings.Contains(notes, "48.0 MiB (1.20s)") {
		t.Errorf("notes %q", notes)
	}
	var text bytes.Buffer
	Text(&text, s, "report")
	if !strings.Contains(text.String(), "Go heap at its peak at most ") || !strings.Contains(text.String(), "(runtime: 48.0 MiB to 64.0 MiB)") {
		t.Errorf("text %q", text.String())
	}
	if h := headline(s); !strings.HasPrefix(h, "At most ") {
		t.Errorf("headline %q", h)
	}
}

// TestCallGraphKeepsAScriptLikeName: a function whose name holds
// "javascript:" (in any case) is drawn in the call graph, its name escaped
// as text, not taken for a script.
func TestCallGraphKeepsAScriptLikeName(t *testing.T) {
	const name = `main.JavaScript:alert(1)<x>`
	h := &heap.Heap{Bytes: 100, Objects: 1, Stacks: []heap.Stack{{
		Frames: []heap.Frame{{Func: "main.main", File: "/m.go", Line: 1}, {Func: name, File: "/m.go", Line: 2}},
		Bytes:  100, Objects: 1,
	}}}
	svg, err := svgOf(context.Background(), buildCallGraph(h).dot())
	if err != nil {
		t.Fatalf("no call graph: %v", err)
	}
	if !strings.Contains(svg, ">main.JavaScript:alert(1)&lt;x&gt;</text>") {
		t.Errorf("the call graph does not show the name as text:\n%s", svg)
	}
}

// TestCheckSVGRefusesScripts: what could run in the page, were Graphviz to
// write it, is refused; names are text.
func TestCheckSVGRefusesScripts(t *testing.T) {
	const ok = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><g><a xlink:title="javascript:x"><text>javascript:x &lt;script&gt;</text></a></g></svg>`
	if err := checkSVG(ok); err != nil {
		t.Errorf("a name that reads like a script: %v", err)
	}
	for _, bad := range []string{
		`<svg><script>alert(1)</script></svg>`,
		`<svg><SCRIPT>alert(1)</SCRIPT></svg>`,
		`<svg xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>`,
		`<svg><a href="https://example.com/"><text>x</text></a></svg>`,
		`<svg><g onload="alert(1)"></g></svg>`,
		`<svg><foreignObject><div>x</div></foreignObject></svg>`,
		`<svg><set attributeName="href" to="javascript:alert(1)"/></svg>`,
		`<svg><g>`,
	} {
		if err := checkSVG(bad); err == nil {
			t.Errorf("checkSVG took %s", bad)
		}
	}
}

// TestOwnHeapSaid: the tracker's own heap at the peak is said beside the
// Go heap that counts it, on stderr and on the page: "of which gofil's
// own", beside the runtime's figure, or, when that is not known, beside
// the sampled heap with it.
func TestOwnHeapSaid(t *testing.T) {
	for _, exact := range []uint64{64 << 20, 0} {
		meta, run := syntheticRun(10, false)
		run.Peak.Raw.ExactBytes = exact
		run.Peak.TrackerBytes = 5 << 20
		s := summary.Build(meta, run)
		if s.Peak.TrackerBytes != 5<<20 {
			t.Fatalf("peak.tracker_bytes = %d", s.Peak.TrackerBytes)
		}
		want := "(runtime: 64.0 MiB, of which gofil's own: 5.0 MiB)"
		if exact == 0 {
			want = "(runtime: unknown; sampled " + units.Bytes(s.Peak.HeapBytes+5<<20) + ", of which gofil's own: 5.0 MiB)"
			if summary.PeakHeap(s.Peak) != s.Peak.HeapBytes+5<<20 {
				t.Errorf("the page's heap %d leaves out gofil's own %d", summary.PeakHeap(s.Peak), 5<<20)
			}
		}
		var text bytes.Buffer
		Text(&text, s, "report")
		if !strings.Contains(text.String(), want) {
			t.Errorf("text %q, want %q", text.String(), want)
		}
		found := false
		for _, f := range figures(meta, s, run) {
			found = found || f.Label == "Go heap at the peak" && f.Value == units.Bytes(summary.PeakHeap(s.Peak)) && strings.Contains(f.Detail, "of which gofil's own: 5.0 MiB")
		}
		if !found {
			t.Errorf("the page says nothing of gofil's own heap beside the Go heap at the peak: %+v", figures(meta, s, run))
		}
	}
}
