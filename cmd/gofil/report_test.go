package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
	"github.com/gofil/gofil/report/view"
)

// holdForProfile allocates 64 blocks of 1 MiB for a heap profile to find.
//
//go:noinline
func holdForProfile() [][]byte {
	var blocks [][]byte
	for i := 0; i < 64; i++ {
		blocks = append(blocks, make([]byte, mib))
	}
	return blocks
}

// writeHeapProfile writes this process's heap profile, holding 64 MiB in
// holdForProfile, as runtime/pprof does: debug 0 is the gzipped protocol
// buffer that net/http/pprof also serves, debug 1 the legacy text format.
func writeHeapProfile(t *testing.T, path string, debug int) {
	t.Helper()
	// Record every allocation while the blocks are made: at the default
	// rate (512 KiB) a 1 MiB block is sampled with probability 0.86, which
	// leaves 64 of them a ±5% standard deviation, as wide as the check.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	blocks := holdForProfile()
	runtime.GC() // the heap profile is as of the last GC
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, debug); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(blocks)
}

// foldedTotal sums the bytes of a report's peak.folded.
func foldedTotal(t *testing.T, dir string) int64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rundir.PeakFolded))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		i := strings.LastIndexByte(line, ' ')
		n, err := strconv.ParseInt(line[i+1:], 10, 64)
		if i < 0 || err != nil {
			t.Fatalf("peak.folded: bad line %q", line)
		}
		total += n
	}
	return total
}

// TestReportFromPprof renders heap profiles written by runtime/pprof.
func TestReportFromPprof(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		debug int
	}{{"heap.pb.gz", 0}, {"heap.txt", 1}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			prof := filepath.Join(dir, c.name)
			writeHeapProfile(t, prof, c.debug)
			out := filepath.Join(dir, "out")
			r := gofil(t, dir, "report", "-o", out, prof)
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s", r.code, r.stderr)
			}
			if got := strings.TrimSpace(r.stdout); got != filepath.Join(out, rundir.HTMLFile) {
				t.Errorf("stdout %q, want the page's path", got)
			}
			s := r.summary
			if s == nil || s.Peak == nil || len(s.Top) == 0 {
				t.Fatalf("no summary\n%s", r.stderr)
			}
			var held int64
			for _, site := range s.Top {
				if strings.HasSuffix(site.Function, ".holdForProfile") {
					held += site.Bytes
				}
			}
			if !within(held, 64*mib, 0.05) {
				t.Errorf("holdForProfile holds %d bytes, want 64 MiB ±5%%\n%s", held, r.stderr)
			}
			if got := foldedTotal(t, out); got != s.Peak.HeapBytes {
				t.Errorf("peak.folded holds %d bytes, summary says %d", got, s.Peak.HeapBytes)
			}
			if len(s.Notes) == 0 || !strings.Contains(s.Notes[0], "pprof") || !strings.Contains(s.Notes[0], "no timeline") {
				t.Errorf("notes %q do not say the report comes from a pprof profile without a timeline", s.Notes)
			}
			page, err := os.ReadFile(filepath.Join(out, rundir.HTMLFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"holdForProfile", `id="peak"`, `id="peakrev"`, "No timeline was recorded", "go tool pprof -http=: peak.pb.gz"} {
				if !strings.Contains(string(page), want) {
					t.Errorf("index.html lacks %q", want)
				}
			}
			// Without -o, the report goes beside the profile.
			r = gofil(t, dir, "report", c.name)
			if r.code != 0 {
				t.Fatalf("without -o: exit code %d\n%s", r.code, r.stderr)
			}
			want := map[string]string{"heap.pb.gz": "heap-report", "heap.txt": "heap.txt-report"}[c.name]
			if _, err := os.Stat(filepath.Join(dir, want, rundir.HTMLFile)); err != nil {
				t.Errorf("without -o: %v\n%s", err, r.stderr)
			}
		})
	}
}

// TestReportRunDir renders a run directory again, in place and into
// another directory, and finds the same figures.
func TestReportRunDir(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, testdata(t, "oldgo"), "run", "-o", out, ".")
	if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
		t.Fatalf("gofil run: exit code %d\n%s", r.code, r.stderr)
	}
	before := r.summary
	for _, args := range [][]string{{"report", out}, {"report", "-o", out + "2", out}} {
		r := gofil(t, t.TempDir(), args...)
		if r.code != 0 {
			t.Fatalf("gofil %v: exit code %d\n%s", args, r.code, r.stderr)
		}
		dir := args[len(args)-1]
		if len(args) == 4 {
			dir = args[2]
		}
		s := readSummary(t, dir)
		if s == nil || s.Peak == nil {
			t.Fatalf("gofil %v: no summary in %s", args, dir)
		}
		if s.Peak.HeapBytes != before.Peak.HeapBytes || s.Peak.RSSBytes != before.Peak.RSSBytes ||
			s.Target != before.Target || s.Ended != before.Ended || !slices.Equal(s.Command, before.Command) {
			t.Errorf("gofil %v: summary differs:\nbefore %+v\nafter  %+v", args, before.Peak, s.Peak)
		}
		if !slices.Equal(s.Notes, before.Notes) {
			t.Errorf("gofil %v: notes %q, were %q", args, s.Notes, before.Notes)
		}
		for _, name := range []string{rundir.HTMLFile, rundir.PeakProfile, rundir.PeakFolded} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("gofil %v: %v", args, err)
			}
		}
		checkFiles(t, dir, s)
	}
}

// TestReportOpen checks --open with a stand-in for xdg-open, and without
// any opener.
func TestReportOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	prof := filepath.Join(dir, "heap.pb.gz")
	writeHeapProfile(t, prof, 0)
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	opened := filepath.Join(dir, "opened")
	script := "#!/bin/sh\nprintf '%s' \"$1\" > '" + opened + "'\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(path string) (int, string, string) {
		cmd := exec.Command(gofilBin, "report", "--open", "-o", filepath.Join(dir, "out"), prof)
		cmd.Env = append(os.Environ(), "PATH="+path)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stdout.String(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stdout.String(), stderr.String()
	}
	page := filepath.Join(dir, "out", rundir.HTMLFile)
	code, _, stderr := run(bin)
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	got, err := os.ReadFile(opened)
	if err != nil || string(got) != page {
		t.Errorf("xdg-open was given %q (%v), want %q", got, err, page)
	}
	code, _, stderr = run(filepath.Join(dir, "empty"))
	if code != 0 || !strings.Contains(stderr, "found no xdg-open") || !strings.Contains(stderr, page) {
		t.Errorf("without an opener: exit code %d, stderr:\n%s\nwant 0 and a message naming %s", code, stderr, page)
	}
}

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// TestReportInBrowser loads the report of testdata/example in headless
// Chromium, through the DevTools protocol on the loopback interface, and
// uses it as a reader would: it finds the peak function's frames in both
// flamegraphs, searches for it, zooms into it, sorts the table of
// allocation sites and zooms the timeline, and checks that the page
// logged no error and asked for nothing over the network. It takes a
// screenshot of the page as loaded; set GOFIL_SCREENSHOT to a path to
// keep a copy.
func TestReportInBrowser(t *testing.T) {
	chromium := chromiumPath
	if _, err := os.Stat(chromium); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			chromium = p
		} else if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: CI must install Debian's chromium package (.ci/run)", chromiumPath)
		} else {
			t.Skipf("%s is missing: install Debian's chromium package to run the browser test", chromiumPath)
		}
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, testdata(t, "example"), "run", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("gofil run: exit code %d\n%s", r.code, r.stderr)
	}
	// A second report, of a program whose frames have long package paths
	// (encoding/json) and whose call graph is taller than it is wide.
	jsonOut := filepath.Join(t.TempDir(), "jsonload")
	if r := gofil(t, testdata(t, "jsonload"), "run", "-o", jsonOut, "."); r.code != 0 {
		t.Fatalf("gofil run testdata/jsonload: exit code %d\n%s", r.code, r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if _, err := os.Stat(filepath.Join(out, rundir.HTMLFile)); err != nil {
		// gofil run does not write the page yet: gofil report does.
		t.Logf("gofil run wrote no %s; rendering it with gofil report", rundir.HTMLFile)
		if r := gofil(t, out, "report", out); r.code != 0 {
			t.Fatalf("gofil report: exit code %d\n%s", r.code, r.stderr)
		}
	}
	pageURL := (&url.URL{Scheme: "file", Path: filepath.Join(out, rundir.HTMLFile)}).String()

	devtools := startChromium(t, ctx, chromium)
	wsURL, err := pageTarget(ctx, devtools)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := dialWS(ctx, wsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.close()
	c := newCDPClient(ws)
	for _, domain := range []string{"Page", "Runtime", "Log", "Network"} {
		if err := c.call(ctx, domain+".enable", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	err = c.call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, c, pageURL)

	shot, err := c.screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shotPath := filepath.Join(t.TempDir(), "report.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shotPath)
	if keep := os.Getenv("GOFIL_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, shot, 0o644); err != nil {
			t.Error(err)
		}
	}

	// One figure, one value: what the page shows is what summary.json
	// says, in the cards, the flame graph's title, the timeline's peak
	// mark (where the heap line passes through the peak's exact heap) and
	// the sites table.
	var shown struct {
		Figures map[string]string
		Title   string
		Mark    struct {
			Ms    float64
			Label string
		}
		HeapAtMark int64
		Legend     []string
		TopBytes   int64
	}
	err = c.eval(ctx, `(() => {
		const figures = {};
		document.querySelectorAll("#summary .figure").forEach(f =>
			figures[f.querySelector(".label").textContent.trim()] = f.querySelector(".value").textContent.trim());
		const data = JSON.parse(document.getElementById("timeline-data").textContent);
		const mark = data.marks.find(m => m.class === "tl-peak") || {ms: -1, label: ""};
		const i = data.t.indexOf(mark.ms);
		const table = document.getElementById("sites-table");
		const col = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent.trim().startsWith("Bytes"));
		return {figures, title: document.querySelector("#peak .fg-title").textContent,
			mark: {ms: mark.ms, label: mark.label}, heapAtMark: i < 0 ? -1 : data.heap[i],
			legend: Array.from(document.querySelectorAll(".legend .key")).map(k => k.textContent.trim()),
			topBytes: Number(table.tBodies[0].rows[0].cells[col].getAttribute("data-v"))};
	})()`, &shown)
	if err != nil {
		t.Fatal(err)
	}
	checkPageFigures(t, r.summary, shown.Figures, shown.Title, shown.Mark.Ms, shown.Mark.Label, shown.HeapAtMark, shown.Legend, shown.TopBytes)

	// The peak function's frames, in both orientations.
	var frames map[string]int
	err = c.eval(ctx, `(() => {
		const count = id => Array.from(document.querySelectorAll("#" + id + " g.f > title"))
			.filter(t => t.textContent.split("\n")[0] === "main.buildIndex").length;
		return {peak: count("peak"), peakrev: count("peakrev")};
	})()`, &frames)
	if err != nil {
		t.Fatal(err)
	}
	if frames["peak"] == 0 || frames["peakrev"] == 0 {
		t.Errorf("main.buildIndex frames: %v, want some in both flamegraphs", frames)
	}

	// Search with the page's search box.
	var search struct {
		Percent     float64 `json:"percent"`
		Text        string  `json:"text"`
		Highlighted int     `json:"highlighted"`
	}
	err = c.eval(ctx, `(() => {
		document.getElementById("search").value = "buildIndex";
		document.getElementById("search-form").requestSubmit();
		const out = document.getElementById("search-result");
		return {percent: Number(out.getAttribute("data-percent")), text: out.textContent,
			highlighted: document.querySelectorAll("#peak g.f.m, #peakrev g.f.m").length};
	})()`, &search)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("search: %s", search.Text)
	if search.Percent < 50 || search.Percent > 60 || search.Highlighted < 2 {
		t.Errorf("searching buildIndex matched %.2f%% in %d frames (%q), want 50-60%% in both graphs", search.Percent, search.Highlighted, search.Text)
	}

	// Zoom: a real click on the widest main.buildIndex frame.
	var target struct {
		X, Y, Width, Full float64
	}
	err = c.eval(ctx, `(() => {
		const svg = document.getElementById("peak");
		let best = null, width = -1;
		svg.querySelectorAll("g.f").forEach(g => {
			if (g.querySelector("title").textContent.split("\n")[0] !== "main.buildIndex") return;
			const w = Number(g.querySelector("rect").getAttribute("width"));
			if (w > width) { width = w; best = g; }
		});
		best.id = "zoom-target";
		const rect = best.querySelector("rect");
		rect.scrollIntoView({block: "center"});
		const box = rect.getBoundingClientRect();
		return {x: box.left + box.width / 2, y: box.top + box.height / 2, width: width, full: Number(svg.getAttribute("data-fw"))};
	})()`, &target)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.click(ctx, target.X, target.Y); err != nil {
		t.Fatal(err)
	}
	var zoomed struct {
		X, Width, VeilX, VeilWidth float64
		Veil                       bool
	}
	if err := c.eval(ctx, `(() => {
		const r = document.querySelector("#zoom-target rect"), v = document.querySelector("#zoom-target rect.fg-g");
		const n = (el, a) => Number(el.getAttribute(a));
		return {x: n(r, "x"), width: n(r, "width"), veil: !!v, veilX: v ? n(v, "x") : 0, veilWidth: v ? n(v, "width") : 0};
	})()`, &zoomed); err != nil {
		t.Fatal(err)
	}
	if target.Width >= 0.9*target.Full || math.Abs(zoomed.Width-target.Full) > 0.01 {
		t.Errorf("clicking main.buildIndex (%.2f px wide) made it %.2f px wide, want the full %.2f px", target.Width, zoomed.Width, target.Full)
	}
	// The paler garbage part, if any, follows its box to the right end.
	if zoomed.Veil && (math.Abs(zoomed.VeilX+zoomed.VeilWidth-(zoomed.X+zoomed.Width)) > 0.05 || zoomed.VeilWidth > zoomed.Width+0.01) {
		t.Errorf("after the zoom the garbage part of main.buildIndex is at %.2f+%.2f, its box at %.2f+%.2f", zoomed.VeilX, zoomed.VeilWidth, zoomed.X, zoomed.Width)
	}

	// Sort the table of allocation sites by clicking its headers.
	var table struct {
		Before, Desc, Asc []float64
		Names             []string
		Sort              string
	}
	err = c.eval(ctx, `(() => {
		const table = document.getElementById("sites-table");
		const heads = Array.from(table.tHead.rows[0].cells);
		const col = heads.findIndex(th => th.textContent.trim() === "Objects");
		const values = () => Array.from(table.tBodies[0].rows).map(r => Number(r.cells[col].getAttribute("data-v")));
		const before = values();
		heads[col].click();
		const desc = values(), sort = heads[col].getAttribute("aria-sort");
		heads[col].click();
		const asc = values();
		heads[0].click();
		const names = Array.from(table.tBodies[0].rows).map(r => r.cells[0].getAttribute("data-v"));
		return {before, desc, asc, names, sort};
	})()`, &table)
	if err != nil {
		t.Fatal(err)
	}
	desc := slices.Clone(table.Desc)
	slices.Reverse(desc)
	if len(table.Desc) < 3 || !slices.IsSorted(desc) || !slices.IsSorted(table.Asc) || !slices.IsSorted(table.Names) ||
		table.Sort != "descending" || slices.Equal(table.Before, table.Desc) {
		t.Errorf("sorting the sites table: before %v, by objects %v (%s) then %v, by function %q", table.Before, table.Desc, table.Sort, table.Asc, table.Names)
	}

	// Read the timeline by hovering over it, zoom it by dragging across
	// it, and zoom it to 100-150 ms through the page's function.
	var plot struct{ Left, Top, Width, Height float64 }
	err = c.eval(ctx, `(() => {
		const hit = document.querySelector("#timeline .tl-hit");
		hit.scrollIntoView({block: "center"});
		const r = hit.getBoundingClientRect();
		return {left: r.left, top: r.top, width: r.width, height: r.height};
	})()`, &plot)
	if err != nil {
		t.Fatal(err)
	}
	y := plot.Top + plot.Height/2
	x0, x1 := plot.Left+0.25*plot.Width, plot.Left+0.75*plot.Width
	for _, step := range []struct {
		typ  string
		x, y float64
	}{{"mouseMoved", x0, y}, {"mousePressed", x0, y}, {"mouseMoved", x1, y}, {"mouseReleased", x1, y}} {
		if err := c.mouse(ctx, step.typ, step.x, step.y); err != nil {
			t.Fatal(err)
		}
	}
	var timeline struct {
		Readout, Dragged, ViewBox string
	}
	err = c.eval(ctx, `(() => {
		const plot = document.querySelector("#timeline svg.tl-plot");
		const dragged = plot.getAttribute("viewBox");
		window.gofilTimelineZoom(100, 150);
		return {readout: document.getElementById("timeline-readout").textContent, dragged: dragged, viewBox: plot.getAttribute("viewBox")};
	})()`, &timeline)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("timeline readout: %s", timeline.Readout)
	if !strings.Contains(timeline.Readout, "RSS") || !strings.Contains(timeline.Readout, "Go heap") {
		t.Errorf("hovering over the timeline shows %q, want its values", timeline.Readout)
	}
	if strings.HasPrefix(timeline.Dragged, "0 0 ") {
		t.Errorf("dragging across the timeline left its viewBox at %q", timeline.Dragged)
	}
	if !strings.HasPrefix(timeline.ViewBox, "100 0 50 ") {
		t.Errorf("timeline viewBox after zooming to 100-150 ms: %q", timeline.ViewBox)
	}

	checkMoments(t, ctx, c, r.summary)

	pages := []string{pageURL}
	pages = append(pages, checkLongNames(t, ctx, c, jsonOut)...)

	for _, p := range c.problems() {
		t.Errorf("the page logged: %s", p)
	}
	for _, u := range c.requests() {
		if !slices.Contains(pages, u) && !strings.HasPrefix(u, "data:") {
			t.Errorf("a page asked for %s: it must need nothing beyond itself", u)
		}
	}
	if err := c.call(ctx, "Browser.close", nil, nil); err != nil {
		t.Logf("Browser.close: %v", err)
	}
}

// checkMoments clicks the timeline early in the run, where the heap is
// not the peak's: the flame graph and the sites table show the heap at
// the GC mark nearest the click, the graph's own script runs, and "Back to
// the peak" brings the peak's graph and table back.
func checkMoments(t *testing.T, ctx context.Context, c *cdpClient, s *summary.Summary) {
	t.Helper()
	var box struct{ Left, Top, Width, Height float64 }
	if err := c.eval(ctx, `(() => {
		const d = JSON.parse(document.getElementById("timeline-data").textContent);
		window.gofilTimelineZoom(0, d.xmax);
		const hit = document.querySelector("#timeline .tl-hit");
		hit.scrollIntoView({block: "center"});
		const r = hit.getBoundingClientRect();
		return {left: r.left, top: r.top, width: r.width, height: r.height};
	})()`, &box); err != nil {
		t.Fatal(err)
	}
	x, y := box.Left+0.1*box.Width, box.Top+box.Height/2
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		if err := c.mouse(ctx, typ, x, y); err != nil {
			t.Fatal(err)
		}
	}
	// The page waits 300 ms to tell a click from half a double-click.
	time.Sleep(600 * time.Millisecond)
	var got struct {
		Status, Title, Heading, Graph string
		Want                          struct {
			Cycle uint32
			Peak  bool
			Top   int64
		}
		Moments  int
		Scripted bool
		TopRow   int64
		Back     struct {
			Graph  string
			TopRow int64
		}
	}
	err := c.eval(ctx, `(() => {
		const moments = JSON.parse(document.getElementById("moments-data").textContent);
		const plot = document.querySelector("#timeline svg.tl-plot");
		const vb = plot.getAttribute("viewBox").split(" ").map(Number);
		const ms = vb[0] + 0.1 * vb[2];
		let want = moments[0];
		moments.forEach(m => { if (Math.abs(m.ms - ms) < Math.abs(want.ms - ms)) want = m; });
		const table = document.getElementById("sites-table");
		const col = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent.trim().startsWith("Bytes"));
		const top = () => Number(table.tBodies[0].rows[0].cells[col].getAttribute("data-v"));
		const svg = document.querySelector("#flame-box svg");
		const out = {status: document.getElementById("moment-text").textContent, graph: svg.id,
			title: (svg.querySelector(".fg-title") || {}).textContent || "",
			heading: document.querySelector("#sites h2").textContent,
			want: {cycle: want.cycle, peak: !!want.peak, top: want.sites.length ? want.sites[0].b : -1},
			moments: moments.length, scripted: typeof window[svg.id + "_search"] === "function", topRow: top()};
		document.getElementById("flamegraph").scrollIntoView();
		return out;
	})()`, &got)
	if err != nil {
		t.Fatal(err)
	}
	if shot, err := c.screenshot(ctx); err == nil {
		if keep := os.Getenv("GOFIL_SCREENSHOT"); keep != "" {
			os.WriteFile(strings.TrimSuffix(keep, ".png")+"-moment.png", shot, 0o644)
		}
	}
	err = c.eval(ctx, `(() => {
		const table = document.getElementById("sites-table");
		const col = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent.trim().startsWith("Bytes"));
		document.getElementById("moment-peak").click();
		return {graph: document.querySelector("#flame-box svg").id, topRow: Number(table.tBodies[0].rows[0].cells[col].getAttribute("data-v"))};
	})()`, &got.Back)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("timeline click: %q; %d moments", got.Status, got.Moments)
	if got.Moments < 3 {
		t.Fatalf("the page holds %d moments, want several", got.Moments)
	}
	if got.Want.Peak {
		t.Fatalf("the mark nearest 10%% into the run is the peak's: pick another place")
	}
	mark := fmt.Sprintf("GC %d's mark", got.Want.Cycle)
	if !strings.Contains(got.Status, mark) || !strings.Contains(got.Title, mark) || !strings.Contains(got.Heading, mark) || got.Graph == "peak" {
		t.Errorf("after a click 10%% into the run: status %q, graph %q titled %q, table %q; want %s", got.Status, got.Graph, got.Title, got.Heading, mark)
	}
	if !got.Scripted {
		t.Errorf("the moment's flame graph %q has no script of its own (search, zoom)", got.Graph)
	}
	if got.TopRow != got.Want.Top {
		t.Errorf("the sites table's first row holds %d bytes, the moment's largest site %d", got.TopRow, got.Want.Top)
	}
	if got.Back.Graph != "peak" || len(s.Top) == 0 || got.Back.TopRow != s.Top[0].Bytes {
		t.Errorf("back to the peak: graph %q, first row %d bytes (want peak, %d)", got.Back.Graph, got.Back.TopRow, s.Top[0].Bytes)
	}
}

var devtoolsRE = regexp.MustCompile(`DevTools listening on ws://([0-9.]+:[0-9]+)/`)

// startChromium starts headless Chromium with its DevTools server on a
// free loopback port and returns the server's host:port. The browser, its
// helpers included, is killed when the test ends.
func startChromium(t *testing.T, ctx context.Context, chromium string) string {
	t.Helper()
	cmd := exec.Command(chromium,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
		"--hide-scrollbars", "--mute-audio",
		"--user-data-dir="+t.TempDir(),
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers join its group
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("killing chromium: %v", err)
		}
		cmd.Wait()
	})
	found := make(chan string, 1)
	var log strings.Builder
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := devtoolsRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			if log.Len() < 16<<10 {
				fmt.Fprintln(&log, line)
			}
		}
	}()
	select {
	case hostPort := <-found:
		return hostPort
	case <-logDone:
		t.Fatalf("chromium exited before its DevTools server listened:\n%s", log.String())
	case <-ctx.Done():
		t.Fatalf("chromium's DevTools server did not start: %v", ctx.Err())
	}
	return ""
}

// checkPageFigures holds what the page shows against summary.json.
func checkPageFigures(t *testing.T, s *summary.Summary, figures map[string]string, title string, markMs float64, markLabel string, heapAtMark int64, legend []string, topBytes int64) {
	t.Helper()
	if s == nil || s.Peak == nil || s.Peak.HeapBytesExact == 0 || len(s.Top) == 0 {
		t.Fatalf("summary.json has no peak with an exact heap and sites: %+v", s)
	}
	p := s.Peak
	heap := units.Bytes(view.PeakHeap(p).Bytes)
	for label, want := range map[string]string{
		"Peak RSS":            units.Bytes(int64(p.RSSBytes)),
		"Go heap at the peak": units.Bytes(int64(p.HeapBytesExact)),
		"Outside the Go heap": units.Bytes(int64(p.OutsideHeapBytes)),
		"When":                fmt.Sprintf("%.2f s into the run", p.AtSeconds),
	} {
		if figures[label] != want {
			t.Errorf("the card %q shows %q; summary.json says %q", label, figures[label], want)
		}
	}
	if want := "Go heap at the peak, as sampled: " + units.Bytes(p.HeapBytes); title != want {
		t.Errorf("the flame graph's title is %q, want %q", title, want)
	}
	if math.Abs(markMs-1000*p.AtSeconds) > 1e-6 || markLabel != "peak, Go heap "+heap {
		t.Errorf("the timeline's peak mark is %q at %.3f ms; summary.json has the peak at %.3f ms, %s", markLabel, markMs, 1000*p.AtSeconds, heap)
	}
	if heapAtMark != int64(p.HeapBytesExact) {
		t.Errorf("the timeline's heap line is at %d bytes at the peak mark, want the exact heap %d", heapAtMark, p.HeapBytesExact)
	}
	if !slices.Contains(legend, "peak, Go heap "+heap) {
		t.Errorf("the timeline's legend %q does not name the peak as %s", legend, heap)
	}
	if topBytes != s.Top[0].Bytes {
		t.Errorf("the sites table's first row holds %d bytes, summary.json's top site %d", topBytes, s.Top[0].Bytes)
	}
}

// navigate loads url in the page and waits for its load event.
func navigate(t *testing.T, ctx context.Context, c *cdpClient, url string) {
	t.Helper()
	loaded := c.expect("Page.loadEventFired")
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := c.call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		t.Fatal(err)
	}
	if nav.ErrorText != "" {
		t.Fatalf("navigating to %s: %s", url, nav.ErrorText)
	}
	if err := waitFor(ctx, loaded, "the page to load"); err != nil {
		t.Fatal(err)
	}
}

// checkLongNames reads the report in dir, of testdata/jsonload, as a user
// would: the call graph's first view shows every node inside its box, no
// edge covers its own label, the standalone flame graph's boxes are
// labelled with short names and its search, through the prompt a click
// on "Search" opens, highlights the matching frames. It returns the URLs
// it loaded.
func checkLongNames(t *testing.T, ctx context.Context, c *cdpClient, dir string) []string {
	t.Helper()
	pageURL := (&url.URL{Scheme: "file", Path: filepath.Join(dir, rundir.HTMLFile)}).String()
	navigate(t, ctx, c, pageURL)
	var cg struct {
		Nodes, Outside int
		Crossed        []string
		Box            string
	}
	err := c.eval(ctx, `(() => {
		const box = document.getElementById("callgraph-box");
		box.scrollIntoView({block: "start"});
		const b = box.getBoundingClientRect();
		const nodes = Array.from(box.querySelectorAll("g.node"));
		const outside = nodes.filter(n => {
			const r = n.getBoundingClientRect();
			return r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1;
		}).length;
		// An edge covers its label when a point of its line or of its
		// arrowhead lies on the label's glyphs: inside its box less the
		// line spacing above and below them, a fifth of the height each.
		const crossed = [];
		box.querySelectorAll("g.edge").forEach(e => {
			const text = e.querySelector("text");
			const path = e.querySelector("path");
			if (!text || !path) return;
			const bb = text.getBBox();
			const inside = p => p.x > bb.x + 0.5 && p.x < bb.x + bb.width - 0.5 && p.y > bb.y + bb.height / 5 && p.y < bb.y + bb.height * 4 / 5;
			const points = [];
			const len = path.getTotalLength();
			for (let l = 0; l <= len; l += 1) points.push(path.getPointAtLength(l));
			const head = e.querySelector("polygon");
			if (head) for (const p of head.points) points.push(p);
			if (points.some(inside)) crossed.push(e.querySelector("title").textContent + ": " + text.textContent.trim());
		});
		return {nodes: nodes.length, outside, crossed, box: b.width.toFixed(0) + "x" + b.height.toFixed(0)};
	})()`, &cg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("call graph: %d nodes in a %s px box", cg.Nodes, cg.Box)
	if cg.Nodes < 5 || cg.Outside > 0 {
		t.Errorf("the call graph's first view has %d of its %d nodes outside its %s px box", cg.Outside, cg.Nodes, cg.Box)
	}
	if len(cg.Crossed) > 0 {
		t.Errorf("edges cover their own labels: %q", cg.Crossed)
	}

	svgURL := (&url.URL{Scheme: "file", Path: filepath.Join(dir, rundir.FlameSVG)}).String()
	navigate(t, ctx, c, svgURL)
	var labels struct {
		Full, Label string
	}
	err = c.eval(ctx, `(() => {
		let best = null, width = -1;
		document.querySelectorAll("g.f").forEach(g => {
			const name = g.querySelector("title").textContent.split("\n")[0];
			const w = Number(g.querySelector("rect").getAttribute("width"));
			const text = g.querySelector("text"); // none on a frame too narrow for a label
			if (name.startsWith("encoding/json.") && text && w > width) { width = w; best = {full: name, label: text.textContent}; }
		});
		return best || {full: "", label: ""};
	})()`, &labels)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(labels.Full, "encoding/"); labels.Full == "" || labels.Label != want {
		t.Errorf("the widest encoding/json frame, %q, is labelled %q, want %q", labels.Full, labels.Label, want)
	}

	// Search as a user does: click "Search", type into the prompt.
	var ctl struct{ X, Y float64 }
	if err := c.eval(ctx, `(() => {
		const r = document.querySelector(".fg-search").getBoundingClientRect();
		return {x: r.left + r.width / 2, y: r.top + r.height / 2};
	})()`, &ctl); err != nil {
		t.Fatal(err)
	}
	dialog := c.expect("Page.javascriptDialogOpening")
	clicked := make(chan error, 1)
	go func() { clicked <- c.click(ctx, ctl.X, ctl.Y) }()
	if err := waitFor(ctx, dialog, "the search prompt"); err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, "Page.handleJavaScriptDialog", map[string]any{"accept": true, "promptText": `json\.\(\*Decoder\)`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-clicked; err != nil {
		t.Fatal(err)
	}
	var found struct {
		Matched      string
		Highlighted  int
		WrongMatches []string
	}
	err = c.eval(ctx, `(() => {
		const hits = Array.from(document.querySelectorAll("g.f.m")).map(g => g.querySelector("title").textContent.split("\n")[0]);
		return {matched: document.querySelector(".fg-matched") ? document.querySelector(".fg-matched").textContent : "",
			highlighted: hits.length, wrongMatches: hits.filter(n => !n.startsWith("encoding/json.(*Decoder)"))};
	})()`, &found)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("standalone search: %q, %d frames", found.Matched, found.Highlighted)
	if found.Highlighted == 0 || len(found.WrongMatches) > 0 || !strings.HasPrefix(found.Matched, "Matched: ") {
		t.Errorf("searching the standalone flame graph for (*Decoder) highlighted %d frames (wrongly %q) and says %q", found.Highlighted, found.WrongMatches, found.Matched)
	}
	return []string{pageURL, svgURL}
}

// TestHostileProfiles: gofil report's memory and output are bounded for
// any profile. A gzip bomb (a few hundred KiB that decompress to 512 MiB)
// is refused with one line naming the limit, and a small profile whose
// names are 200 KB each makes a page of a few MB at most, quickly.
func TestHostileProfiles(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.pb.gz")
	if err := os.WriteFile(bomb, gzipBomb(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gofilBin, "report", "-o", filepath.Join(dir, "bomb-report"), bomb)
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "larger than 128.0 MiB decompressed") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("gofil report of a gzip bomb: %v, %q; want exit code 2 and one line naming the limit", err, out)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	t.Logf("gzip bomb: %d MiB of RSS", rss>>20)
	if rss > 600<<20 {
		t.Errorf("gofil report of a gzip bomb reached %d MiB of RSS", rss>>20)
	}

	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"}, Period: 512 << 10,
	}
	for i := 0; i < 50; i++ {
		fn := &profile.Function{ID: uint64(i + 1), Name: fmt.Sprintf("main.f%d%s", i, strings.Repeat("A", 200_000)), Filename: "/x/" + strings.Repeat("B", 200_000) + ".go"}
		loc := &profile.Location{ID: uint64(i + 1), Line: []profile.Line{{Function: fn, Line: 1}}}
		p.Function, p.Location = append(p.Function, fn), append(p.Location, loc)
		stack := []*profile.Location{loc}
		if i > 0 {
			stack = append(stack, p.Location[i-1])
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: stack, Value: []int64{1, int64(i+1) << 20}})
	}
	names := filepath.Join(dir, "names.pb.gz")
	writePprofFile(t, names, p)
	begin := time.Now()
	report := filepath.Join(dir, "names-report")
	cmd = exec.Command(gofilBin, "report", "-o", report, names)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gofil report of long names: %v\n%.2000s", err, out)
	}
	took := time.Since(begin)
	st, err := os.Stat(filepath.Join(report, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	rss = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	t.Logf("long names: page %d KiB, %v, %d MiB of RSS", st.Size()>>10, took.Round(time.Millisecond), rss>>20)
	if st.Size() > 8<<20 || took > 10*time.Second || rss > 400<<20 {
		t.Errorf("a profile of 50 names of 200 KB made a page of %d KiB in %v with %d MiB of RSS", st.Size()>>10, took, rss>>20)
	}
}

// gzipBomb is 512 MiB of zeros, gzipped: about half a MiB.
func gzipBomb() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 512; i++ {
		zw.Write(zeros)
	}
	zw.Close()
	return b.Bytes()
}
