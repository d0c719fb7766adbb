package tracker

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/raw"

	"github.com/gofil/gofil/internal/mprofsim"
	"github.com/gofil/gofil/peak"
)

// TestMomentsSpreadAndExact: over 1,000 GC cycles the tracker keeps at
// most momentsMax moments, spread evenly, with the peak's mark and the last
// among them; each, decoded from its changes since the one before, is the
// heap the accountant found at that mark, stack by stack.
func TestMomentsSpreadAndExact(t *testing.T) {
	const cycles = 1000
	var objs []mprofsim.Object
	for c := uint32(1); c <= cycles; c++ {
		objs = append(objs, mprofsim.Object{Stack: 1, Size: 512 + int64(c%13)*64, Alloc: c})                            // grows to the end
		objs = append(objs, mprofsim.Object{Stack: 2, Size: 8192, Alloc: c, Dies: c + 1})                               // churns
		objs = append(objs, mprofsim.Object{Stack: 3 + uintptr(c%5), Size: 4096 * int64(c%7+1), Alloc: c, Dies: c + 3}) // comes and goes
		if c == 400 {
			objs = append(objs, mprofsim.Object{Stack: 9, Size: 64 << 20, Alloc: c, Dies: c + 1}) // the peak, at mark 401
		}
	}
	sim := &simRuntime{objs: objs}
	tr := newSimTracker(t, sim)
	truth := map[uint32]map[uintptr][3]int64{}
	tr.acc.Trace = func(p peak.Peak) {
		m := map[uintptr][3]int64{}
		for _, s := range p.Stacks {
			m[p.PCs(s)[0]] = [3]int64{s.Objects, s.Bytes, s.LiveBytes}
		}
		truth[p.Cycle] = m
	}
	for c := uint32(1); c <= cycles; c++ {
		sim.cycle = c
		tr.observe()
	}
	f := tr.moments.stream(tr).Collect()
	if n := len(f.Moments); n > momentsMax+2 || n < momentsMax/2 {
		t.Fatalf("%d moments, want between %d and %d", n, momentsMax/2, momentsMax+2)
	}
	p, _ := tr.acc.Peak()
	last := f.Moments[len(f.Moments)-1].Cycle
	if l, _ := tr.acc.Last(); last != l.Cycle {
		t.Errorf("the last moment is mark %d, want the last accounted, %d", last, l.Cycle)
	}
	state := map[int][3]int64{}
	var gaps []uint32
	sawPeak := false
	for i, mo := range f.Moments {
		if i > 0 {
			gaps = append(gaps, mo.Cycle-f.Moments[i-1].Cycle)
		}
		sawPeak = sawPeak || mo.Cycle == p.Cycle
		for _, c := range mo.Changes {
			if c[1] == 0 && c[2] == 0 {
				delete(state, int(c[0]))
			} else {
				state[int(c[0])] = [3]int64{c[1], c[2], c[3]}
			}
		}
		want := truth[mo.Cycle]
		if len(want) != len(state) {
			t.Fatalf("mark %d: %d stacks decoded, the accountant had %d", mo.Cycle, len(state), len(want))
		}
		for idx, v := range state {
			pc := pcOf(f, idx)
			if want[pc] != v {
				t.Errorf("mark %d, stack %#x: decoded %v, the accountant had %v", mo.Cycle, pc, v, want[pc])
			}
		}
	}
	if !sawPeak {
		t.Errorf("the peak's mark %d is not among the moments", p.Cycle)
	}
	// Evenly: no gap between kept marks (but those beside the peak and the
	// last) over twice the usual one.
	usual := gaps[len(gaps)/2]
	for i, g := range gaps {
		if g > 2*usual && f.Moments[i].Cycle != p.Cycle && f.Moments[i+1].Cycle != p.Cycle && i+1 != len(gaps) {
			t.Errorf("a gap of %d cycles after mark %d (usual %d)", g, f.Moments[i].Cycle, usual)
		}
	}
}

// pcOf is the leaf return address of stack idx of f: the simulation's
// stacks are one frame, named by its address.
func pcOf(f *raw.Moments, idx int) uintptr {
	name := f.Frames[f.Stacks[idx][0]].Func
	v, _ := strconv.ParseUint(strings.TrimPrefix(name, "0x"), 16, 64)
	return uintptr(v)
}

// BenchmarkMomentsAdd is what the moments cost the tracker per accounted
// GC cycle over a long run, for a heap of 50 stacks of 20 frames: most
// cycles are not kept, and a kept one is copied.
func BenchmarkMomentsAdd(b *testing.B) {
	p := peak.Peak{Table: &peak.Table{}}
	for i := 0; i < 50; i++ {
		pcs := make([]uintptr, 20)
		for j := range pcs {
			pcs[j] = uintptr(i*100 + j)
		}
		p.Stacks = append(p.Stacks, peak.Stack{ID: p.Table.Stack(pcs), Bytes: int64(1000 + i), Objects: 1, LiveBytes: 10})
	}
	m := moments{stacks: p.Table}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Cycle = uint32(i + 1)
		m.add(p)
	}
}
