package heap

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/raw"
)

// TestNewIsCleanedProfile: New, which cleans the tracker's stacks without
// a pprof profile between, gives the heap the profile path gives
// (FromProfile of Clean of FromRaw), on random stacks of frames of every
// kind Clean treats: the tracker's, gofil's wrappers, the renamed main,
// the allocator's leaf frames, indexes out of the table, freed stacks.
func TestNewIsCleanedProfile(t *testing.T) {
	frames := []raw.Frame{
		{Func: "main.main", File: "/app/main.go", Line: 10},
		{Func: "main.load", File: "/app/load.go", Line: 4},
		{Func: "main.load", File: "/app/load.go", Line: 7},
		{Func: "encoding/json.(*Decoder).refill", File: "/go/json.go", Line: 90},
		{Func: "runtime.main", File: "/go/proc.go", Line: 283},
		{Func: "runtime.makeslice", File: "/go/slice.go", Line: 116},
		{Func: "runtime.mallocgc", File: "/go/malloc.go", Line: 1000},
		{Func: "runtime.goexit", File: "/go/asm.s", Line: 1700},
		{Func: gofil.RunMain, File: "/gofil/run.go", Line: 5},
		{Func: "main.main", File: "/app/" + gofil.InjectedFile, Line: 3},
		{Func: userMainName, File: "/app/main.go", Line: 12},
		{Func: userMainName + ".func1", File: "/app/main.go", Line: 14},
		{Func: gofil.AgentPackages[0] + ".sample", File: "/gofil/t.go", Line: 1},
		{Func: "runtime/metrics.Read", File: "/go/metrics.go", Line: 8},
		{Func: "0x4f00"},
	}
	pkgs := map[string]bool{"main": true, "runtime": true, "encoding/json": true}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		p := raw.Profile{Version: raw.Version, Reason: "gc", Cycle: uint32(trial), Rate: 512, Frames: frames}
		for n := rng.IntN(40); n > 0; n-- {
			s := raw.Stack{Objects: rng.Int64N(5), LiveObjects: rng.Int64N(3), LiveBytes: rng.Int64N(3000), Truncated: rng.IntN(4) == 0}
			if rng.IntN(6) > 0 {
				s.Bytes = 1 + rng.Int64N(5000)
			}
			for d := rng.IntN(8); d > 0; d-- {
				idx := rng.IntN(len(frames)+2) - 1 // -1 and len(frames): out of the table
				if idx >= 0 && idx < len(frames) && frames[idx].Func != "0x4f00" && rng.IntN(3) > 0 {
					idx = rng.IntN(5) // mostly the program's and the runtime's
				}
				s.Frames = append(s.Frames, idx)
			}
			p.Stacks = append(p.Stacks, s)
		}
		for _, pk := range []map[string]bool{pkgs, nil} {
			q, own := Clean(FromRaw(p), pk)
			want, err := FromProfile(q)
			if err != nil {
				t.Fatal(err)
			}
			got := New(p, pk)
			if got.TrackerBytes != own[1] || got.Bytes != want.Bytes || got.Objects != want.Objects {
				t.Fatalf("trial %d: tracker %d, bytes %d, objects %d; the profile path gives %d, %d, %d",
					trial, got.TrackerBytes, got.Bytes, got.Objects, own[1], want.Bytes, want.Objects)
			}
			if !reflect.DeepEqual(got.Stacks, want.Stacks) {
				t.Fatalf("trial %d: stacks\n%+v\nthe profile path gives\n%+v", trial, got.Stacks, want.Stacks)
			}
			for _, s := range got.Stacks {
				if cap(s.Frames) != len(s.Frames) {
					t.Fatalf("trial %d: a stack's frames have room for %d more: an append would overwrite the next stack's", trial, cap(s.Frames)-len(s.Frames))
				}
			}
		}
	}
}

// TestPoolSharesStacks: heaps made from one pool hold a stack's frames
// once, whatever the frame tables their profiles index; a heap with a
// pool of its own does not share them.
func TestPoolSharesStacks(t *testing.T) {
	a := []raw.Frame{{Func: "main.main", File: "/m.go", Line: 1}, {Func: "main.load", File: "/m.go", Line: 2}, {Func: "runtime.makeslice"}}
	b := []raw.Frame{{Func: "runtime.makeslice"}, {Func: "main.load", File: "/m.go", Line: 2}, {Func: "main.main", File: "/m.go", Line: 1}}
	pa := raw.Profile{Stacks: []raw.Stack{{Frames: []int{2, 1, 0}, Bytes: 10}}}
	pb := raw.Profile{Stacks: []raw.Stack{{Frames: []int{0, 1, 2}, Bytes: 20}}}
	pool := NewPool()
	ha := NewCleaner(a, nil, pool).Heap(pa)
	hb := NewCleaner(b, nil, pool).Heap(pb)
	fa, fb := ha.Stacks[0].Frames, hb.Stacks[0].Frames
	if len(fa) != 2 || fa[1].Func != "main.load" || len(fb) != 2 {
		t.Fatalf("stacks %v and %v, want main.main > main.load", fa, fb)
	}
	if &fa[0] != &fb[0] {
		t.Error("two heaps of one pool hold the same stack twice")
	}
	if hc := NewCleaner(b, nil, nil).Heap(pb); &hc.Stacks[0].Frames[0] == &fa[0] {
		t.Error("a heap without the pool shares its frames")
	}
}
