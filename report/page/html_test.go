package page

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/internal/fixture"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
	"github.com/gofil/gofil/report/view"
)

// TestCallGraphDOT checks the DOT text's escaping and the graph's limits.
func TestCallGraphDOT(t *testing.T) {
	_, run := fixture.EvilRun()
	g := buildCallGraph(run.Peak)
	dot := string(g.dot())
	for _, bad := range []string{fixture.Evil, `"quoted"&amp;`, `back\slash`} {
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
	h := fixture.SyntheticHeap(5000, 1)
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
	meta, run := fixture.SyntheticRun(100_000, deep)
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
			meta, run := fixture.SyntheticRun(100_000, deep)
			dir := b.TempDir()
			s := summary.Build(meta, run)
			for b.Loop() {
				if err := Write(dir, meta, s, run); err != nil {
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
	tl := buildTimeline(rundir.Meta{}, &summary.Summary{}, run, view.New(rundir.Meta{}, &summary.Summary{}, run))
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
	tl := buildTimeline(rundir.Meta{MemoryLimit: 512 << 20}, &summary.Summary{}, run, view.New(rundir.Meta{MemoryLimit: 512 << 20}, &summary.Summary{}, run))
	if !strings.Contains(tl.SVG, `class="tl-limit"`) || tl.Data.YMax < 512<<20 {
		t.Errorf("limit not drawn (ymax %v)", tl.Data.YMax)
	}
	tl = buildTimeline(rundir.Meta{MemoryLimit: 64 << 30}, &summary.Summary{}, run, view.New(rundir.Meta{MemoryLimit: 64 << 30}, &summary.Summary{}, run))
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
	if err := os.WriteFile(file, []byte("package x\n\n\tb := make([]byte, n) // "+fixture.Evil+"\n"), 0o644); err != nil {
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

// TestSourceLinesAsScanned: the lines a source file gives are those
// bufio.ScanLines splits it into, trimmed: CRLF endings, blank lines, a last
// line without a newline, an empty file.
func TestSourceLinesAsScanned(t *testing.T) {
	dir := t.TempDir()
	for i, text := range []string{
		"",
		"\n",
		"package x\n",
		"package x",
		"package x\r\n\r\n\tfunc f() {}\r\n",
		"a\n\n\n  b  \nc",
		"a\nb\n\n",
		"\xff\xfe bad\nok\n",
	} {
		file := filepath.Join(dir, fmt.Sprintf("f%d.go", i))
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		var want []string
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			want = append(want, cutLine(strings.TrimSpace(sc.Text())))
		}
		c := newSourceCache()
		for n := 1; n <= len(want)+1; n++ {
			w := ""
			if n <= len(want) {
				w = want[n-1]
			}
			if got := c.line(file, n); got != w {
				t.Errorf("%q: line %d = %q, want %q", text, n, got, w)
			}
		}
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

// TestLimitCardOnlyForRealLimits: a cgroup limit gets its card; the host's
// memory, which no one set as a limit, is context in the RSS card.
func TestLimitCardOnlyForRealLimits(t *testing.T) {
	for _, c := range []struct {
		source string
		card   bool
	}{{"cgroup v2 /sys/fs/cgroup/job/memory.max", true}, {"host MemAvailable", false}} {
		run := &rundir.Run{Start: &raw.Start{LimitBytes: 1 << 30, LimitSource: c.source}}
		meta := rundir.Meta{MaxRSS: 100 << 20}
		s := summary.Build(meta, run)
		var limitCard bool
		var rssDetail string
		for _, f := range view.New(meta, s, run).Figures {
			if f.Label == "Memory limit" {
				limitCard = true
			}
			if f.Label == "Peak RSS" {
				rssDetail = f.Detail
			}
		}
		if limitCard != c.card {
			t.Errorf("%s: a memory limit card %v, want %v", c.source, limitCard, c.card)
		}
		if !c.card && !strings.Contains(rssDetail, "no memory limit was set") {
			t.Errorf("%s: the RSS card says %q, want the host's memory as context", c.source, rssDetail)
		}
	}
}

// TestTimelineBeyond: the runtime's memory beyond its objects, read from
// the timeline file's last three columns, is drawn and given in the
// legend; a timeline written before those columns draws no such line.
func TestTimelineBeyond(t *testing.T) {
	file := raw.TimelineHead +
		"0\t100\t200\t150\t0\t1\t190\t10\t20\t30\n" +
		"20\t300\t400\t350\t0\t2\t390\t40\t50\t60\n"
	points, err := rundir.ParseTimeline(strings.NewReader(file))
	if err != nil || len(points) != 2 {
		t.Fatalf("%d points, %v", len(points), err)
	}
	if p := points[1]; p.Free != 40 || p.Stacks != 50 || p.Runtime != 60 || p.Beyond() != 150 {
		t.Errorf("point %+v", p)
	}
	run := &rundir.Run{Timeline: points}
	tl := buildTimeline(rundir.Meta{}, &summary.Summary{}, run, view.New(rundir.Meta{}, &summary.Summary{}, run))
	if !strings.Contains(tl.SVG, `class="tl-beyond"`) || maxOf(tl.Data.Beyond) != 150 {
		t.Errorf("beyond not drawn: %v", tl.Data.Beyond)
	}
	found := false
	for _, l := range tl.Legend {
		found = found || l.Class == "tl-beyond" && strings.Contains(l.Value, "150 B")
	}
	if !found {
		t.Errorf("no legend for it: %+v", tl.Legend)
	}
	old, _ := rundir.ParseTimeline(strings.NewReader("0\t100\t200\t150\t0\t1\t190\n"))
	run = &rundir.Run{Timeline: old}
	tl = buildTimeline(rundir.Meta{}, &summary.Summary{}, run, view.New(rundir.Meta{}, &summary.Summary{}, run))
	if len(old) != 1 || strings.Contains(tl.SVG, `class="tl-beyond"`) {
		t.Errorf("an old timeline: %d points, beyond drawn", len(old))
	}
}
