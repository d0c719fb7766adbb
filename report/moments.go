package report

import (
	"math"
	"sort"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

// Moment is the heap at one GC mark of the run, one of the tracker's
// moments (raw/moments.json): attributed per stack as the peak is.
type Moment struct {
	Cycle uint32
	At    time.Duration
	// Exact is the runtime's exact heap at the mark, 0 if unknown.
	Exact uint64
	Heap  *Heap
}

// Moments decodes the tracker's moments, in the order of their marks; nil
// when the run has none.
func (r *Run) Moments() []Moment {
	m := r.RawMoments
	if m == nil {
		return nil
	}
	state := map[int][3]int64{}
	var out []Moment
	for _, mo := range m.Moments {
		for _, c := range mo.Changes {
			idx := c[0]
			if idx < 0 || idx >= int64(len(m.Stacks)) {
				continue
			}
			if c[1] == 0 && c[2] == 0 {
				delete(state, int(idx))
			} else {
				state[int(idx)] = [3]int64{c[1], c[2], c[3]}
			}
		}
		p := raw.Profile{
			Version: m.Version, Reason: "gc", Cycle: mo.Cycle, AtNS: mo.AtNS,
			Bytes: mo.Bytes, SampledBytes: mo.Bytes, LiveBytes: mo.LiveBytes,
			ExactBytes: mo.ExactBytes, MarkExactBytes: mo.ExactBytes,
			Rate: m.Rate, Frames: m.Frames,
		}
		idxs := make([]int, 0, len(state))
		for idx := range state {
			idxs = append(idxs, idx)
		}
		sort.Ints(idxs)
		for _, idx := range idxs {
			v := state[idx]
			p.Stacks = append(p.Stacks, raw.Stack{Frames: m.Stacks[idx], Objects: v[0], Bytes: v[1], LiveBytes: v[2]})
		}
		out = append(out, Moment{Cycle: mo.Cycle, At: time.Duration(mo.AtNS), Exact: mo.ExactBytes, Heap: NewHeap(p, r.Packages)})
	}
	return out
}

// MomentNear returns the moment whose mark is nearest at; ok is false when
// the run has none.
func (r *Run) MomentNear(at time.Duration) (Moment, bool) {
	var best Moment
	found := false
	bestD := time.Duration(math.MaxInt64)
	for _, m := range r.Moments() {
		d := m.At - at
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD, found = m, d, true
		}
	}
	return best, found
}
