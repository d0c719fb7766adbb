package peak

import (
	"runtime"
	"testing"
)

// manyRecords is a profile of stacks distinct stacks of depth frames, the
// first records−stacks of them with a second allocation size, every record
// with objects allocated and half of them freed by cycle n.
func manyRecords(stacks, records, depth int, n uint32) []runtime.MemProfileRecord {
	rs := make([]runtime.MemProfileRecord, 0, records)
	for i := 0; i < records; i++ {
		s := i % stacks
		var r runtime.MemProfileRecord
		for f := 0; f < depth; f++ {
			r.Stack0[f] = uintptr(0x400000 + s*depth + f)
		}
		size := int64(64 << (i / stacks))
		r.AllocObjects = int64(n) * 4
		r.FreeObjects = int64(n) * 2
		r.AllocBytes, r.FreeBytes = r.AllocObjects*size, r.FreeObjects*size
		rs = append(rs, r)
	}
	return rs
}

// TestAccountantMemoryPerStack: what the Accountant holds grows with the
// distinct stacks and records, by a few hundred bytes per stack, and not
// with the snapshots it has been given. 40,000 stacks of 16 frames in
// 50,000 records, every stack holding something at every mark, fed 8
// snapshots: at most 320 bytes per stack. The bound covers its copy of
// each stack's frames (128 bytes), its tables (about 20 bytes per stack
// and 28 per record), and the stacks of the last pair and of the peak (40
// bytes each, and 4 to index them, per stack holding anything): about 283
// in all. Stacks holding a slice of their frames (64 bytes), with what the
// sweep freed kept beside them (16), took 358; maps of whole runtime
// records, three snapshots of them held, took 1,700, and 63 MB more at
// every snapshot.
func TestAccountantMemoryPerStack(t *testing.T) {
	const stacks, records, depth, snapshots = 40000, 50000, 16, 8
	profiles := make([][]runtime.MemProfileRecord, snapshots)
	for n := range profiles {
		profiles[n] = manyRecords(stacks, records, depth, uint32(n+1))
	}
	var a Accountant
	a.Rate = 64 << 10
	before := liveHeap()
	for n, rs := range profiles {
		a.Add(Snapshot{Cycle: uint32(n + 1), Records: rs})
	}
	after := liveHeap()
	runtime.KeepAlive(profiles)
	p, ok := a.Peak()
	if !ok || len(p.Stacks) != stacks {
		t.Fatalf("peak with %d stacks, want %d", len(p.Stacks), stacks)
	}
	perStack := float64(int64(after)-int64(before)) / stacks
	t.Logf("the Accountant holds %.0f bytes per distinct stack (%d stacks, %d records)", perStack, stacks, records)
	if perStack > 320 {
		t.Errorf("the Accountant holds %.0f bytes per distinct stack, want at most 320", perStack)
	}

	// Another snapshot of the same records allocates next to nothing: no
	// copy of the profile is made, and buffers are reused.
	next := manyRecords(stacks, records, depth, snapshots+1)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	a.Add(Snapshot{Cycle: snapshots + 1, Records: next})
	runtime.ReadMemStats(&m1)
	got := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("a snapshot of %d known records allocated %d bytes", records, got)
	if got > 64<<10 {
		t.Errorf("a snapshot of %d known records allocated %d bytes, want at most 64 KiB", records, got)
	}
}

// liveHeap collects garbage and returns the bytes in live heap objects.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
