package tracker

import (
	"runtime"
	"testing"
	"time"

	"github.com/gofil/gofil/peak"
)

// syntheticProfile is a heap profile of stacks distinct stacks of depth
// frames, the first records−stacks of them with a second allocation size,
// kept as the runtime keeps its buckets' stacks: frames that never change,
// which the Table keeps without a copy. As a program's, its stacks share
// their return addresses: the frame at depth f of stack s is one of two,
// as bit f of s says (2^depth stacks at most).
type syntheticProfile struct {
	pcs   [][]uintptr
	sizes []int64
}

func newSyntheticProfile(stacks, records, depth int) *syntheticProfile {
	p := &syntheticProfile{}
	frames := make([]uintptr, stacks*depth)
	for s := 0; s < stacks; s++ {
		for f := 0; f < depth; f++ {
			frames[s*depth+f] = uintptr(0x400000 + 2*f + s>>f&1)
		}
	}
	for i := 0; i < records; i++ {
		s := i % stacks
		p.pcs = append(p.pcs, frames[s*depth:(s+1)*depth:(s+1)*depth])
		p.sizes = append(p.sizes, int64(64<<(i/stacks)))
	}
	return p
}

// snapshot is the profile at cycle n, read into tab as the bucket reader
// reads the runtime's: every record has allocated 4n objects and freed 2n,
// so that every stack holds something at every mark.
func (p *syntheticProfile) snapshot(tab *peak.Table, n uint32) peak.Snapshot {
	c := tab.Begin()
	for i := range p.pcs {
		rec := tab.Record(p.pcs[i], p.sizes[i], true)
		c.Grow()
		c.Add(rec, uint64(n)*4, uint64(n)*2)
	}
	return peak.Snapshot{Cycle: n, Counts: c, Seen: time.Duration(n) * 2 * time.Second}
}

// TestTrackerBytesPerStack: what the tracker holds grows with the distinct
// stacks by a small constant, and ownBytes counts it. 40,000 stacks of 16
// frames in 50,000 records, every stack holding something at every mark,
// fed to the accountant, the leak history and the moments for 12 GC
// cycles, as the tracker's loop feeds them, and the moments written once:
// at most 220 bytes per stack stay in the heap. They are the Table's
// stacks, records and three snapshots of counts (about 57 bytes per
// stack), the stacks of the last pair and of the peak (40 bytes each, and
// 4 to index them by id), the moments' values (about 25, bounded) and the
// leak history's (about 19, bounded): 199 in all. With 64-byte stacks in
// the pairs, what the sweep freed kept per stack and the moments' scratch,
// it held 283. ownBytes is the measured bytes to within a tenth.
func TestTrackerBytesPerStack(t *testing.T) {
	const stacks, records, depth, cycles, rate = 40000, 50000, 16, 12, 64 << 10
	prof := newSyntheticProfile(stacks, records, depth)
	before := liveHeap()
	tr := &tracker{rate: rate}
	tr.acc.Rate = rate
	tr.acc.Table = &peak.Table{}
	tr.history.stacks = tr.acc.Table
	tr.moments.stacks = tr.acc.Table
	for n := uint32(1); n <= cycles; n++ {
		snap := prof.snapshot(tr.acc.Table, n)
		tr.history.add(snap, tr.rate)
		tr.accAdd(snap)
	}
	tr.moments.stream(tr).Collect()
	after := liveHeap()
	runtime.KeepAlive(prof)
	runtime.KeepAlive(tr)
	if p, ok := tr.acc.Peak(); !ok || len(p.Stacks) != stacks {
		t.Fatalf("peak with %d stacks, want %d", len(p.Stacks), stacks)
	}
	held := float64(int64(after) - int64(before))
	own := float64(tr.ownBytes())
	t.Logf("the tracker holds %.0f bytes per distinct stack (%d stacks, %d records): the accountant %d, of which its Table %d, the history %d, the moments %d; ownBytes counts %.0f",
		held/stacks, stacks, records, tr.acc.Bytes()/stacks, tr.acc.Table.Bytes()/stacks, tr.history.bytes()/stacks, tr.moments.bytes()/stacks, own/stacks)
	if held/stacks > 220 {
		t.Errorf("the tracker holds %.0f bytes per distinct stack, want at most 220", held/stacks)
	}
	if own < 0.9*held || own > 1.1*held {
		t.Errorf("ownBytes counts %.0f bytes, the heap holds %.0f more: want within a tenth", own, held)
	}
}

// liveHeap collects garbage and returns the bytes in live heap objects.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
