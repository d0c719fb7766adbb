package memsource

import (
	"runtime"
	"testing"

	"github.com/gofil/gofil/peak"
)

// TestClassesAddUp: the runtime's memory classes make up its total exactly
// (runtime/metrics documents /memory/classes/total as their sum), so a
// reading's classes, heap objects and released pages must add up to
// GoMapped: a class left out or counted twice shows.
func TestClassesAddUp(t *testing.T) {
	src := New()
	var r peak.Memory
	src.Read(&r)
	c := r.Classes
	sum := r.Heap + r.GoReleased + c.HeapFree + c.HeapUnused + c.HeapStacks + c.OSStacks + c.Metadata + c.Profiling
	if sum != r.GoMapped {
		t.Errorf("classes %+v with heap %d and released %d add up to %d, total is %d", c, r.Heap, r.GoReleased, sum, r.GoMapped)
	}
	if c.Metadata == 0 || c.HeapStacks == 0 {
		t.Errorf("no metadata or stacks: %+v", c)
	}
}

// TestResidentOfWrittenHeap: 96 MiB written in the heap are resident in
// its arenas, which hold no more than the runtime counts in them; the
// parts add up to the whole. (Comparing two readings would not do: the
// runtime may return other free pages in between.)
func TestResidentOfWrittenHeap(t *testing.T) {
	src := New()
	big := written(96 << 20)
	var m peak.Memory
	if !src.Resident(&m) {
		t.Skip("no /proc/self/maps or mincore")
	}
	src.Read(&m)
	runtime.KeepAlive(big)
	r, c := m.Resident, m.Classes
	inArenas := m.Heap + c.HeapFree + c.HeapUnused + c.HeapStacks
	if r.Heap < 96<<20 || r.Heap > inArenas+1<<20 {
		t.Errorf("%d bytes resident in the heap's arenas, with 96 MiB written and %d counted there", r.Heap, inArenas)
	}
	if d := int64(r.Total) - int64(r.Heap+r.Anon+r.Files); d > int64(r.Total)/50 || d < 0 {
		t.Errorf("parts of %+v do not add up", r)
	}
	if r.Files == 0 {
		t.Errorf("nothing backed by files, not even the binary: %+v", r)
	}
}

// BenchmarkRead is the tracker's reading at every poll.
func BenchmarkRead(b *testing.B) {
	src := New()
	var r peak.Memory
	for i := 0; i < b.N; i++ {
		src.Read(&r)
	}
}

// BenchmarkResident is the division of the resident set, with 256 MiB of
// heap resident.
func BenchmarkResident(b *testing.B) {
	src := New()
	big := written(256 << 20)
	var r peak.Memory
	for i := 0; i < b.N; i++ {
		if !src.Resident(&r) {
			b.Skip("no /proc/self/maps or mincore")
		}
	}
	runtime.KeepAlive(big)
}

// written is n bytes of heap with every page written, and so resident.
func written(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}
