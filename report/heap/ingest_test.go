package heap

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// inlinedProfile is a heap profile with one inlined call: main.main calls
// main.load, into which main.alloc was inlined. Its samples: the inlined
// stack under runtime.mallocgc (400 bytes in 4 objects), a stack with an
// unnamed leaf (100 in 1), a freed one, and an unnamed frame between named
// ones (50 in 1); 512 KiB sampling.
func inlinedProfile() *profile.Profile {
	p, err := ReadProfile(filepath.Join("testdata", "inlined.pb.gz"))
	if err != nil {
		panic(err)
	}
	return p
}

func TestHeapFromProfile(t *testing.T) {
	h, err := FromProfile(inlinedProfile())
	if err != nil {
		t.Fatal(err)
	}
	if h.Bytes != 550 || h.Objects != 6 || len(h.Stacks) != 3 {
		t.Fatalf("heap: %d bytes, %d objects, %d stacks; want 550, 6, 3", h.Bytes, h.Objects, len(h.Stacks))
	}
	var names []string
	for _, f := range h.Stacks[0].Frames {
		names = append(names, f.Func)
	}
	if got, want := strings.Join(names, " > "), "main.main > main.load > main.alloc"; got != want {
		t.Errorf("stack %q, want %q (root first, inlined call after its caller, mallocgc hidden)", got, want)
	}
	if f := h.Stacks[0].Frames[2]; f.File != "/src/app/alloc.go" || f.Line != 7 {
		t.Errorf("inlined frame %+v", f)
	}
	if fr := h.Stacks[1].Frames; len(fr) != 1 || fr[0].Func != "main.main" {
		t.Errorf("stack with an unnamed leaf: %+v, want the leaf dropped", fr)
	}
	if f := h.Stacks[2].Frames[1]; f.Func != "0x40" {
		t.Errorf("unnamed frame between named ones: %+v, want its address", f)
	}
}

func TestHeapFromProfileRejects(t *testing.T) {
	p := inlinedProfile()
	p.SampleType = []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}, {Type: "x", Unit: "y"}, {Type: "z", Unit: "w"}}
	if _, err := FromProfile(p); err == nil || !strings.Contains(err.Error(), "not a heap profile") {
		t.Errorf("CPU profile: err = %v", err)
	}
	p = inlinedProfile()
	p.Sample[0].Value[3] = -5
	if _, err := FromProfile(p); err == nil {
		t.Error("negative inuse_space accepted")
	}
}

func TestSymbolizeLegacy(t *testing.T) {
	text := "heap profile: 3: 3145728 [3: 3145728] @ heap/1048576\n" +
		"3: 3145728 [3: 3145728] @ 0x47c333 0x4d96c6 0x4d9693 0x44cd15\n" +
		"#\t0x4d96c5\tmain.inner+0x45\t\t/tmp/h.go:4\n" +
		"#\t0x4d96c5\tmain.hold+0x45\t\t/tmp/h.go:9\n" +
		"#\t0x4d9692\tmain.main+0x12\t\t/tmp/h.go:15\n" +
		"#\t0x44cd14\truntime.main+0x2d4\t/usr/local/go/src/runtime/proc.go:290\n\n"
	p, err := profile.ParseData([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	symbolizeLegacy(p, []byte(text))
	h, err := FromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Stacks) != 1 {
		t.Fatalf("%d stacks", len(h.Stacks))
	}
	var got []string
	for _, f := range h.Stacks[0].Frames {
		got = append(got, fmt.Sprintf("%s %s:%d", f.Func, filepath.Base(f.File), f.Line))
	}
	want := []string{"runtime.main proc.go:290", "main.main h.go:15", "main.hold h.go:9", "main.inner h.go:4"}
	if !slices.Equal(got, want) {
		t.Errorf("frames %q, want %q (the unnamed allocator frame dropped, the inlined call innermost)", got, want)
	}
}
