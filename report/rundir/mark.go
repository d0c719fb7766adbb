package rundir

import (
	"iter"
	"math"
	"sort"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/heap"
)

// Mark is the heap at one GC mark of the run, one of the tracker's
// moments (raw/moments.json): attributed per stack as the peak is.
type Mark struct {
	Cycle uint32
	At    time.Duration
	// Exact is the runtime's exact heap at the mark, 0 if unknown.
	Exact uint64
	Heap  *heap.Heap
}

// maxMoments bounds the moments a run directory may hold; the tracker
// writes at most 65.
const maxMoments = 1024

// MarkTimes returns when each of the tracker's moments was, in the
// order of their marks; nil when the run has none.
func (r *Run) MarkTimes() []time.Duration {
	if r.RawMoments == nil {
		return nil
	}
	out := make([]time.Duration, len(r.RawMoments.Moments))
	for i, mo := range r.RawMoments.Moments {
		out[i] = time.Duration(mo.AtNS)
	}
	return out
}

// SpreadMarks decodes at most k of the moments, evenly spread over the
// run, the last included: the ones the page shows. It makes one heap at a
// time, as Marks does.
func (r *Run) SpreadMarks(k int) iter.Seq[Mark] {
	return r.Marks(Spread(len(r.MarkTimes()), k))
}

// Spread picks at most k of the indexes 0..n−1, evenly, the last included.
func Spread(n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, k)
	for j := 0; j < k; j++ {
		out = append(out, j*(n-1)/(k-1))
	}
	return out
}

// Marks decodes the moments whose indexes pick holds, in increasing
// order: each is the sum of its changes and those of every moment before
// it, and only the picked ones are made into heaps, one at a time, as
// they are yielded: a run's moments can each hold as many stacks as its
// peak.
func (r *Run) Marks(pick []int) iter.Seq[Mark] {
	return func(yield func(Mark) bool) {
		m := r.RawMoments
		if m == nil || len(pick) == 0 {
			return
		}
		clean := heap.NewCleaner(m.Frames, r.Packages, r.pool)
		state := map[int][3]int64{}
		next := 0
		for i, mo := range m.Moments {
			if next == len(pick) {
				return
			}
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
			if i != pick[next] {
				continue
			}
			next++
			p := raw.Profile{
				Version: m.Version, Reason: "gc", Cycle: mo.Cycle, AtNS: mo.AtNS,
				Bytes: mo.Bytes, SampledBytes: mo.Bytes, LiveBytes: mo.LiveBytes,
				ExactBytes: mo.ExactBytes, MarkExactBytes: mo.ExactBytes,
				Rate: m.Rate,
			}
			idxs := make([]int, 0, len(state))
			for idx := range state {
				idxs = append(idxs, idx)
			}
			sort.Ints(idxs)
			p.Stacks = make([]raw.Stack, 0, len(idxs))
			for _, idx := range idxs {
				v := state[idx]
				p.Stacks = append(p.Stacks, raw.Stack{Frames: m.Stacks[idx], Objects: v[0], Bytes: v[1], LiveBytes: v[2]})
			}
			mark := Mark{Cycle: mo.Cycle, At: time.Duration(mo.AtNS), Exact: mo.ExactBytes, Heap: clean.Heap(p)}
			p.Stacks = nil
			if !yield(mark) {
				return
			}
		}
	}
}

// MarkNear returns the moment whose mark is nearest at; ok is false when
// the run has none.
func (r *Run) MarkNear(at time.Duration) (Mark, bool) {
	best, bestD := -1, time.Duration(math.MaxInt64)
	for i, t := range r.MarkTimes() {
		d := t - at
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = i, d
		}
	}
	if best < 0 {
		return Mark{}, false
	}
	for m := range r.Marks([]int{best}) {
		return m, true
	}
	return Mark{}, false
}
