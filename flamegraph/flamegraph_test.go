package flamegraph

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/units"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestGolden(t *testing.T) {
	cases := []struct {
		file string
		out  func() []byte
	}{
		{"small.svg", func() []byte {
			return render(t, smallSamples(), Options{Title: "Peak tracked memory usage"})
		}},
		{"small-icicle.svg", func() []byte {
			return render(t, smallSamples(), Options{Title: "Peak tracked memory usage, reversed", Orientation: Icicle, ID: "fgrev"})
		}},
		{"small.folded", func() []byte { return Fold(smallSamples()) }},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := c.out()
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update if the change is intended)\n%s", path, firstDiff(got, want))
			}
		})
	}
}

func firstDiff(got, want []byte) string {
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			return "line " + itoa(i+1) + ":\n got: " + gl[i] + "\nwant: " + wl[i]
		}
	}
	return "lengths differ: got " + itoa(len(gl)) + " lines, want " + itoa(len(wl))
}

func itoa(i int) string { return string(units.AppendGrouped(nil, int64(i))) }

func TestSmallContent(t *testing.T) {
	samples := smallSamples()
	out := render(t, samples, Options{})
	frames := parseSVG(t, out)
	root := rootOf(t, frames)
	if want := sumBytes(samples); root.v != want {
		t.Errorf("root holds %d bytes, want %d", root.v, want)
	}

	byName := make(map[string]svgFrame)
	for _, f := range frames {
		name, _, _ := strings.Cut(f.title, "\n")
		byName[name] = f
	}
	other, ok := byName["other"]
	if !ok || !hasClass(other.class, "o") {
		t.Fatalf("no \"other\" frame for main.tinyA and main.tinyB; frames: %v", frames)
	}
	if other.v != 30<<10 || !strings.Contains(other.title, "2 frames narrower than 0.5 px") {
		t.Errorf("other = %+v, want 30 KiB standing for 2 frames", other)
	}
	for _, merged := range []string{"main.tinyA", "main.tinyB"} {
		if _, ok := byName[merged]; ok {
			t.Errorf("%s is drawn, want it merged into other", merged)
		}
	}
	if _, ok := byName["main.lonely"]; !ok {
		t.Error("lone narrow frame main.lonely is not drawn by name")
	}

	growslice := byName["runtime.growslice"]
	for _, want := range []string{
		"runtime.growslice\n/usr/local/go/src/runtime/slice.go:177\n",
		"66.0 MiB (69,206,016 bytes), ",
		"13 objects",
	} {
		if !strings.Contains(growslice.title, want) {
			t.Errorf("title of runtime.growslice = %q, want it to contain %q", growslice.title, want)
		}
	}
	if !slices.ContainsFunc(frames, func(f svgFrame) bool {
		return strings.Contains(f.title, "/home/dev/app/rows.go:40\nrows = append(rows, r)\n")
	}) {
		t.Error("no title shows the trimmed source line of main.loadRows")
	}

	// Each frame's children fit in it, and frames at one depth never overlap.
	for i, f := range frames {
		var kids int64
		for j, g := range frames {
			if g.d == f.d+1 && g.s >= f.s && g.s < f.s+f.v {
				kids += g.v
			}
			if j != i && g.d == f.d && g.s < f.s+f.v && f.s < g.s+g.v {
				t.Errorf("frames %q and %q overlap", f.title, g.title)
			}
		}
		if kids > f.v {
			t.Errorf("children of %q hold %d bytes, more than its %d", f.title, kids, f.v)
		}
	}
}

func TestTreeMatchesNaive(t *testing.T) {
	samples := append(syntheticSamples(3000, 7), smallSamples()...)
	for i := range samples[:500] {
		samples[i].Stack = samples[i].Stack[:2+i%6] // shared prefixes with self bytes
	}
	samples = append(samples, Sample{Stack: samples[0].Stack, Bytes: 0, Objects: 0})
	want := naiveTree(samples)
	for _, minWidth := range []float64{0, 0.5, 3, 50} {
		got := buildTree(samples, 1180, minWidth)
		if got.root.total != want.total || got.root.objects != want.objects {
			t.Fatalf("minWidth %v: root = %d bytes %d objects, want %d and %d", minWidth, got.root.total, got.root.objects, want.total, want.objects)
		}
		checkAgainstNaive(t, got.root, want, minWidth == 0)
	}
}

// naive is a call tree built the obvious way, to check buildTree against.
type naive struct {
	total, objects int64
	children       map[Frame]*naive
}

func naiveTree(samples []Sample) *naive {
	root := &naive{children: map[Frame]*naive{}}
	for _, s := range samples {
		n := root
		n.total += s.Bytes
		n.objects += s.Objects
		for _, f := range s.Stack {
			f.Source = ""
			c, ok := n.children[f]
			if !ok {
				c = &naive{children: map[Frame]*naive{}}
				n.children[f] = c
			}
			c.total += s.Bytes
			c.objects += s.Objects
			n = c
		}
	}
	return root
}

func checkAgainstNaive(t *testing.T, got *node, want *naive, exact bool) {
	t.Helper()
	var wantKids, gotKids int64
	var names []Frame
	for f, c := range want.children {
		wantKids += c.total
		if c.total > 0 {
			names = append(names, f)
		}
	}
	slices.SortFunc(names, compareFrames)
	var drawn []Frame
	for _, c := range got.children {
		gotKids += c.total
		if c.kind == kindOther {
			if c.merged < 2 {
				t.Errorf("other stands for %d frames, want at least 2", c.merged)
			}
			continue
		}
		f := c.frame
		f.Source = ""
		drawn = append(drawn, f)
		w, ok := want.children[f]
		if !ok {
			t.Fatalf("drawn frame %v is not in the naive tree", f)
		}
		if c.total != w.total || c.objects != w.objects {
			t.Fatalf("frame %v: %d bytes %d objects, want %d and %d", f, c.total, c.objects, w.total, w.objects)
		}
		checkAgainstNaive(t, c, w, exact)
	}
	if gotKids != wantKids {
		t.Fatalf("children hold %d bytes, want %d", gotKids, wantKids)
	}
	if !slices.IsSortedFunc(drawn, compareFrames) {
		t.Errorf("children not in alphabetical order: %v", drawn)
	}
	if exact && !slices.Equal(drawn, names) {
		t.Errorf("without merging, children = %v, want %v", drawn, names)
	}
}

func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 100,000 stacks")
	}
	samples := syntheticSamples(100_000, 1)
	out := render(t, samples, Options{})
	if len(out) > 5<<20 {
		t.Errorf("SVG is %d bytes, want at most 5 MiB", len(out))
	}
	frames := parseSVG(t, out)
	if root, want := rootOf(t, frames), sumBytes(samples); root.v != want {
		t.Errorf("root holds %d bytes, want exactly %d", root.v, want)
	}
	others := 0
	for _, f := range frames {
		if hasClass(f.class, "o") {
			others++
		}
	}
	if others == 0 {
		t.Error("no frame was merged into \"other\"")
	}
	t.Logf("%d stacks -> %d bytes of SVG, %d frames, %d of them \"other\"", len(samples), len(out), len(frames), others)
}

func TestDeterministic(t *testing.T) {
	samples := append(syntheticSamples(5000, 3), smallSamples()...)
	for _, o := range []Options{{}, {Orientation: Icicle, MinWidth: 2}} {
		first := render(t, samples, o)
		if again := render(t, samples, o); !bytes.Equal(first, again) {
			t.Fatal("two renders of the same samples differ")
		}
		shuffled := slices.Clone(samples)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
			shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
		})
		if got := render(t, shuffled, o); !bytes.Equal(first, got) {
			t.Error("rendering depends on the order of samples")
		}
		if !bytes.Equal(Fold(samples), Fold(shuffled)) {
			t.Error("folding depends on the order of samples")
		}
	}
}

func TestHostileNamesAreEscaped(t *testing.T) {
	const evil = `main.<script>alert("x&y")</script>`
	evilFile := `/tmp/it's "a" & <b>.go`
	samples := []Sample{
		{Stack: []Frame{
			{Func: "main.main", File: evilFile, Line: 1, Source: `if a < b && c > "]]>" { panic('x') }`},
			{Func: evil, File: evilFile, Line: 2, Source: "\x00\x1b[31m\xff\xfe bad bytes"},
		}, Bytes: 1 << 20, Objects: 1},
		{Stack: []Frame{{Func: `"><svg onload=alert(1)>`}, {Func: "a;b\nc"}}, Bytes: 1 << 19},
	}
	opts := []Options{
		{Title: `</text><script>alert("title")</script>`},
		{Title: `&amp; ]]> <![CDATA[`, Unit: `<u>&"'`, Orientation: Icicle, ID: "x-2_"},
	}
	for _, o := range opts {
		out := render(t, samples, o)
		frames := parseSVG(t, out)
		for _, bad := range []string{"<script>alert", "<svg onload", "<b>.go", "<u>"} {
			if bytes.Contains(out, []byte(bad)) {
				t.Errorf("output contains raw %q", bad)
			}
		}
		if n := bytes.Count(out, []byte("<script")); n != 1 {
			t.Errorf("output has %d <script elements, want 1", n)
		}
		found := false
		for _, f := range frames {
			if strings.HasPrefix(f.title, evil+"\n"+evilFile+":2\n") {
				found = true
			}
		}
		if !found {
			t.Errorf("no frame title reads back as %q", evil)
		}
	}
}

func TestTwoGraphsOnOnePage(t *testing.T) {
	samples := smallSamples()
	var page bytes.Buffer
	page.WriteString("<!DOCTYPE html><html><body>\n")
	for _, o := range []Options{{ID: "peak"}, {ID: "peakrev", Orientation: Icicle}} {
		if err := Render(&page, samples, o); err != nil {
			t.Fatal(err)
		}
	}
	page.WriteString("</body></html>\n")
	html := page.String()
	if n := strings.Count(html, ` id="`); n != 2 {
		t.Errorf("page has %d id attributes, want only the two <svg> ids", n)
	}
	for _, want := range []string{`id="peak"`, `id="peakrev"`, `("peak");`, `("peakrev");`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.HasPrefix(string(render(t, samples, Options{})), "<?xml") {
		t.Error("output starts with an XML declaration, which cannot be inlined in HTML")
	}
}

func TestAssetsFitInCDATA(t *testing.T) {
	for name, s := range map[string]string{"script": script, "style": styleSheet} {
		if strings.Contains(s, "]]>") {
			t.Errorf("%s contains ]]>, which would end its CDATA section", name)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	ok := smallSamples()
	cases := []struct {
		name    string
		samples []Sample
		opts    Options
		want    string
	}{
		{"id starts with digit", ok, Options{ID: "1fg"}, "id must start"},
		{"id with quote", ok, Options{ID: `fg"`}, "only ASCII letters"},
		{"id with space", ok, Options{ID: "f g"}, "only ASCII letters"},
		{"narrow", ok, Options{Width: 25}, "width 25 too small"},
		{"negative width", ok, Options{Width: -1}, "too small"},
		{"orientation", ok, Options{Orientation: 7}, "unknown orientation"},
		{"negative bytes", []Sample{{Bytes: 1}, {Bytes: -1}}, Options{}, "sample 1: negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Render(io.Discard, c.samples, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Render error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

type failWriter struct{ n int }

var errFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errFull
	}
	return len(p), nil
}

func TestRenderWriteError(t *testing.T) {
	for _, budget := range []int{0, 70 << 10} {
		err := Render(&failWriter{n: budget}, syntheticSamples(2000, 5), Options{})
		if !errors.Is(err, errFull) {
			t.Errorf("budget %d: Render error = %v, want it to wrap %v", budget, err, errFull)
		}
	}
}

func TestEmpty(t *testing.T) {
	for _, samples := range [][]Sample{nil, {{Stack: []Frame{{Func: "main.f"}}}}} {
		frames := parseSVG(t, render(t, samples, Options{}))
		if len(frames) != 1 || frames[0].v != 0 {
			t.Errorf("frames = %+v, want only an empty root", frames)
		}
	}
}

func TestNoMerging(t *testing.T) {
	samples := syntheticSamples(200, 9)
	frames := parseSVG(t, render(t, samples, Options{MinWidth: -1}))
	want := 0
	var count func(n *naive)
	count = func(n *naive) {
		want++
		for _, c := range n.children {
			count(c)
		}
	}
	count(naiveTree(samples))
	if len(frames) != want {
		t.Errorf("MinWidth -1 drew %d frames, want all %d", len(frames), want)
	}
}

func TestLabels(t *testing.T) {
	frames := parseSVG(t, render(t, smallSamples(), Options{Width: 400}))
	truncated := 0
	for _, f := range frames {
		name, _, _ := strings.Cut(f.title, "\n")
		// Labels show the short name; the title keeps the full one.
		name = ShortName(name)
		switch {
		case f.label == "" || f.label == name:
		case strings.HasSuffix(f.label, "..") && strings.HasPrefix(name, strings.TrimSuffix(f.label, "..")):
			truncated++
		default:
			t.Errorf("label %q does not abbreviate %q", f.label, name)
		}
	}
	if truncated == 0 {
		t.Error("no label was truncated at width 400")
	}
}

func BenchmarkRender100k(b *testing.B) {
	samples := syntheticSamples(100_000, 1)
	var size int
	for b.Loop() {
		var w countingWriter
		if err := Render(&w, samples, Options{}); err != nil {
			b.Fatal(err)
		}
		size = int(w)
	}
	b.ReportMetric(float64(size), "svg-bytes")
}

type countingWriter int

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// TestLiveSplit: with the live part of each sample known, a box's garbage
// part is drawn paler over its right end, in proportion, and its tooltip
// says both parts; without it, no box is split.
func TestLiveSplit(t *testing.T) {
	samples := []Sample{
		{Stack: []Frame{{Func: "main.main"}, {Func: "main.keep"}}, Bytes: 3 << 20, Live: 3 << 20},
		{Stack: []Frame{{Func: "main.main"}, {Func: "main.scratch"}}, Bytes: 1 << 20, Live: 1 << 18},
	}
	var b bytes.Buffer
	if err := Render(&b, samples, Options{}); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	box := regexp.MustCompile(`(?s)<g class="f"[^>]*data-lv="(\d+)"[^>]*><title>main\.scratch\n(.*?)</title><rect x="([\d.]+)" y="\d+" width="([\d.]+)"[^>]*/><rect class="fg-g" x="([\d.]+)" y="\d+" width="([\d.]+)"`)
	m := box.FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no split box for main.scratch in:\n%.3000s", svg)
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	x, w, vx, vw := f(m[3]), f(m[4]), f(m[5]), f(m[6])
	if m[1] != strconv.Itoa(1<<18) || math.Abs(vw-0.75*w) > 0.02 || math.Abs(vx-(x+0.25*w)) > 0.02 {
		t.Errorf("main.scratch: live %s, box at %.2f width %.2f, garbage part at %.2f width %.2f; want a quarter live, the garbage on the right", m[1], x, w, vx, vw)
	}
	if !strings.Contains(m[2], "live 256.0 KiB, garbage awaiting collection 768.0 KiB") {
		t.Errorf("the tooltip does not give both parts: %q", m[2])
	}
	if strings.Count(svg, `class="fg-g"`) != 3 { // all, main.main, main.scratch; main.keep is all live
		t.Errorf("%d garbage parts drawn, want 3", strings.Count(svg, `class="fg-g"`))
	}
	for i := range samples {
		samples[i].Live = 0
	}
	b.Reset()
	Render(&b, samples, Options{})
	if strings.Contains(b.String(), `class="fg-g"`) || strings.Contains(b.String(), "data-lv") {
		t.Error("samples without live parts drew split boxes")
	}
}

// TestRenderStacksAsRender: a profile given as Stacks renders to the bytes
// Render gives for its samples, however its frames are numbered: here
// every frame of every stack has a number of its own, in reverse order, so
// that equal frames must still be found to be one node; and main.main
// without its source text in one stack is still the node main.main, with
// its text.
func TestRenderStacksAsRender(t *testing.T) {
	samples := append(smallSamples(), syntheticSamples(2000, 3)...)
	opts := []Options{{}, {Orientation: Icicle, MinWidth: 3}}
	var want [][]byte
	for _, o := range opts {
		want = append(want, render(t, samples, o))
	}
	samples[0].Stack = slices.Clone(samples[0].Stack)
	samples[0].Stack[1].Source = ""
	var n int
	for _, s := range samples {
		n += len(s.Stack)
	}
	st := &Stacks{Frames: make([]Frame, n)}
	for _, s := range samples {
		ss := StackSample{Bytes: s.Bytes, Objects: s.Objects, Live: s.Live}
		for _, f := range s.Stack {
			n--
			st.Frames[n] = f
			ss.Stack = append(ss.Stack, int32(n))
		}
		st.Samples = append(st.Samples, ss)
	}
	for i, o := range opts {
		var got bytes.Buffer
		if err := RenderStacks(&got, st, o); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want[i]) {
			t.Errorf("options %+v: RenderStacks gives %d bytes that differ from Render's %d", o, got.Len(), len(want[i]))
		}
	}
	st.Samples[3].Stack[1] = int32(len(st.Frames))
	if err := RenderStacks(io.Discard, st, Options{}); err == nil {
		t.Error("a frame index out of the frames: no error")
	}
}
