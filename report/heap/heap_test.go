package heap

import (
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
	h := New(p, program)
	if h.TrackerBytes != 1000 || h.Bytes != 12000 || len(h.Stacks) != 2 {
		t.Errorf("tracker %d, program %d bytes in %d stacks; want 1000, 12000 in 2", h.TrackerBytes, h.Bytes, len(h.Stacks))
	}
	if h := New(p, nil); h.TrackerBytes != 0 || h.Bytes != 13000 {
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
	h := New(p, nil)
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
