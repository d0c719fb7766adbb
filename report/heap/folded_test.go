package heap

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// foldedByStrings is WriteFolded done the plain way: a line's text for
// every stack, summed in a map and sorted as strings.
func foldedByStrings(h *Heap) string {
	sums := map[string]int64{}
	for _, s := range h.Stacks {
		names := make([]string, len(s.Frames))
		for i, f := range s.Frames {
			names[i] = strings.ReplaceAll(FrameName(f), ";", ":")
		}
		sums[strings.Join(names, ";")] += s.Bytes
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, sums[k])
	}
	return b.String()
}

// TestWriteFoldedSorted: WriteFolded's lines are those of the plain way,
// in its order, on random stacks of names chosen to trip an order of names
// that is not the order of lines: names that begin others ("main.a",
// "main.a (x.go:1)", "main.ab"), characters on either side of ';' (' ',
// '<', and ';' itself, which becomes ':'), frames of one name in two
// directories, empty stacks and repeated stacks.
func TestWriteFoldedSorted(t *testing.T) {
	frames := []Frame{
		{Func: "main.a"}, {Func: "main.ab"}, {Func: "main.a b"}, {Func: "main.a<b>"},
		{Func: "main.a;b"}, {Func: "main.a:b"}, {Func: "main.a", File: "/x/x.go", Line: 1},
		{Func: "main.a", File: "/y/x.go", Line: 1}, {Func: "main.a", File: "/x/x.go", Line: 10},
		{Func: "runtime.main", File: "/go/proc.go", Line: 283}, {Func: ""},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		h := &Heap{}
		for n := rng.IntN(30); n > 0; n-- {
			var st Stack
			for d := rng.IntN(5); d > 0; d-- {
				st.Frames = append(st.Frames, frames[rng.IntN(len(frames))])
			}
			st.Bytes = rng.Int64N(1000)
			h.Stacks = append(h.Stacks, st)
			if rng.IntN(4) == 0 {
				h.Stacks = append(h.Stacks, Stack{Frames: st.Frames, Bytes: 7})
			}
		}
		var got bytes.Buffer
		if err := WriteFolded(&got, h); err != nil {
			t.Fatal(err)
		}
		if want := foldedByStrings(h); got.String() != want {
			t.Fatalf("trial %d:\n%s\nwant\n%s", trial, got.String(), want)
		}
	}
	// A large text goes into a buffer of its size, not one that doubled
	// as it grew.
	h := &Heap{}
	for i := range 20000 {
		h.Stacks = append(h.Stacks, Stack{Frames: []Frame{frames[9], {Func: fmt.Sprintf("main.f%d", i)}}, Bytes: 1})
	}
	var got bytes.Buffer
	if err := WriteFolded(&got, h); err != nil {
		t.Fatal(err)
	}
	if got.Cap() > got.Len()+got.Len()/16 {
		t.Errorf("%d bytes in a buffer grown to %d: not the text's size", got.Len(), got.Cap())
	}
}
