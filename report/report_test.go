package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/raw"
)

func TestFuncPackage(t *testing.T) {
	for fn, want := range map[string]string{
		"encoding/json.(*Decoder).refill":                 "encoding/json",
		"main.main.func1":                                 "main",
		"github.com/a/b.v2/c.F":                           "github.com/a/b.v2/c",
		"runtime/metrics.init.0":                          "runtime/metrics",
		"main.Map[go.shape.struct { F example.com/x.T }]": "main",
		"runtime.mallocgc":                                "runtime",
	} {
		if got := flamegraph.PackagePath(fn); got != want {
			t.Errorf("PackagePath(%q) = %q, want %q", fn, got, want)
		}
	}
}

// TestNewHeapRemovesAgentOnlyPackages: a stack through a standard-library
// package the program does not link (runtime/metrics, which only the
// tracker imports) is the tracker's; one through a package the program
// links is the program's, whoever else links it.
func TestNewHeapRemovesAgentOnlyPackages(t *testing.T) {
	p := raw.Profile{
		Frames: []raw.Frame{
			{Func: "runtime/metrics.init.0"}, {Func: "runtime.doInit1"}, {Func: "runtime.main"},
			{Func: "encoding/json.(*Decoder).refill"}, {Func: "main.load"}, {Func: "0x4f00"},
		},
		Stacks: []raw.Stack{
			{Frames: []int{0, 1, 2}, Bytes: 1000, Objects: 1},
			{Frames: []int{3, 4, 2}, Bytes: 5000, Objects: 1},
			{Frames: []int{5, 4, 2}, Bytes: 7000, Objects: 1},
		},
	}
	program := map[string]bool{"main": true, "runtime": true, "encoding/json": true}
	h := NewHeap(p, program)
	if h.TrackerBytes != 1000 || h.Bytes != 12000 || len(h.Stacks) != 2 {
		t.Errorf("tracker %d, program %d bytes in %d stacks; want 1000, 12000 in 2", h.TrackerBytes, h.Bytes, len(h.Stacks))
	}
	if h := NewHeap(p, nil); h.TrackerBytes != 0 || h.Bytes != 13000 {
		t.Errorf("without the program's packages: tracker %d, program %d; want 0, 13000", h.TrackerBytes, h.Bytes)
	}
}

// TestDisagreement: a sampled heap off the runtime's exact figure by more
// than sampling explains gets a note; one within it does not.
func TestDisagreement(t *testing.T) {
	h := &Heap{Raw: raw.Profile{Rate: 64 << 10, MarkExactBytes: 300 << 20, SampledBytes: 297 << 20}}
	if msg := h.Disagreement(); msg != "" {
		t.Errorf("1%% off at 64 KiB: %q, want no note", msg)
	}
	h.Raw.SampledBytes = 200 << 20
	if msg := h.Disagreement(); !strings.Contains(msg, "more than sampling explains") {
		t.Errorf("33%% off: %q, want a note", msg)
	}
	h.Raw.MarkExactBytes = 0
	if msg := h.Disagreement(); msg != "" {
		t.Errorf("exact figure unknown: %q, want no note", msg)
	}
}

// TestOwnPeakRSSIgnoresWait4: wait4's maxrss is the last resort; the
// program's own high-water mark wins, even when smaller.
func TestOwnPeakRSSIgnoresWait4(t *testing.T) {
	run := &Run{Exit: &raw.Exit{MaxRSSBytes: 2 << 20, ChildrenMaxRSSBytes: 400 << 20}}
	own, children := ownPeakRSS(Meta{MaxRSS: 400 << 20, HighWater: 1 << 20}, run)
	if own != 2<<20 || children != 400<<20 {
		t.Errorf("own %d, children %d; want %d, %d", own, children, 2<<20, 400<<20)
	}
	if own, _ := ownPeakRSS(Meta{MaxRSS: 26 << 20}, &Run{}); own != 26<<20 {
		t.Errorf("with nothing else known, own = %d, want wait4's", own)
	}
	if own, _ := ownPeakRSS(Meta{MaxRSS: 90 << 20, HighWater: 40 << 20}, &Run{}); own != 90<<20 {
		t.Errorf("without the tracker's reading at exit, own = %d, want wait4's bound", own)
	}
}

// TestCleanHidesRuntimeLeaf: the allocator's frames at the leaf go, as
// runtime/pprof hides them; a stack that is all the runtime's keeps them.
func TestCleanHidesRuntimeLeaf(t *testing.T) {
	p := raw.Profile{
		Frames: []raw.Frame{{Func: "runtime.mallocgc"}, {Func: "runtime.makeslice"}, {Func: "main.load"}, {Func: "main.main"}, {Func: "runtime.main"}, {Func: "runtime.procresize"}, {Func: "runtime.schedinit"}},
		Stacks: []raw.Stack{
			{Frames: []int{0, 1, 2, 3, 4}, Bytes: 100, Objects: 1},
			{Frames: []int{5, 6}, Bytes: 10, Objects: 1},
		},
	}
	h := NewHeap(p, nil)
	var got []string
	for _, st := range h.Stacks {
		var names []string
		for _, f := range st.Frames {
			names = append(names, f.Func)
		}
		got = append(got, strings.Join(names, ">"))
	}
	want := []string{"runtime.main>main.main>main.load", "runtime.schedinit>runtime.procresize"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stacks %q, want %q", got, want)
	}
}

// TestLimitCardOnlyForRealLimits: a cgroup limit gets its card; the host's
// memory, which no one set as a limit, is context in the RSS card.
func TestLimitCardOnlyForRealLimits(t *testing.T) {
	for _, c := range []struct {
		source string
		card   bool
	}{{"cgroup v2 /sys/fs/cgroup/job/memory.max", true}, {"host MemAvailable", false}} {
		run := &Run{Start: &raw.Start{LimitBytes: 1 << 30, LimitSource: c.source}}
		meta := Meta{MaxRSS: 100 << 20}
		s := Build(meta, run)
		var limitCard bool
		var rssDetail string
		for _, f := range figures(meta, s, run) {
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

// TestStandaloneFlamegraphs: the report directory holds the flame and
// icicle graphs as SVG files of their own, with their script (hover, zoom,
// search), listed in summary.json and linked from the page with
// summary.json, which is written after the page.
func TestStandaloneFlamegraphs(t *testing.T) {
	dir := t.TempDir()
	meta, run := evilRun()
	s, err := WriteDir(dir, meta, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FlameSVG, IcicleSVG} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		svg := string(data)
		if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "<script") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") {
			t.Errorf("%s is not a standalone interactive SVG: %.80q", name, svg)
		}
	}
	if s.Files["flamegraph"] != FlameSVG || s.Files["flamegraph_reversed"] != IcicleSVG {
		t.Errorf("summary files %v", s.Files)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FlameSVG, IcicleSVG, SummaryFile} {
		if !strings.Contains(string(page), `href="`+name+`"`) {
			t.Errorf("the page does not link %s", name)
		}
	}
}
