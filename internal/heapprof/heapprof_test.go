package heapprof

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/raw"
)

// TestRoundTrip: stacks built into a profile, written and parsed, give back
// their frames, root first, and one function per name and file.
func TestRoundTrip(t *testing.T) {
	stacks := [][]raw.Frame{
		{{Func: "main.main", File: "/a.go", Line: 3}, {Func: "main.load", File: "/a.go", Line: 9}},
		{{Func: "main.main", File: "/a.go", Line: 4}, {Func: "main.load", File: "/a.go", Line: 9}, {Func: "bytes.growSlice", File: "/b.go", Line: 1}},
	}
	b := NewBuilder(&profile.Profile{SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}}}, &profile.Mapping{ID: 1, HasFunctions: true})
	for i, st := range stacks {
		b.Add(st, []int64{int64(100 * (i + 1))}, nil)
	}
	var buf bytes.Buffer
	if err := b.Profile().Write(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Function) != 3 || len(p.Location) != 4 {
		t.Errorf("%d functions, %d locations; want 3, 4", len(p.Function), len(p.Location))
	}
	for i, s := range p.Sample {
		if got := Frames(s); !slices.Equal(got, stacks[i]) {
			t.Errorf("sample %d: frames %v, want %v", i, got, stacks[i])
		}
	}
}
