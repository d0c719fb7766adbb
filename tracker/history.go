package tracker

import (
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

const (
	// historyPoints bounds the in-use history: when it is full, every other
	// point is dropped and points are taken half as often.
	historyPoints = 128
	// historyEvery is how often a point is taken at first.
	historyEvery = time.Second
)

// history keeps what each GC found in use, per stack, at moments spread
// over the whole run, so a long-running program's leaks can be told from its
// churn afterwards. Its memory is bounded: at most historyPoints points,
// each holding the stacks with anything in use.
type history struct {
	every  time.Duration
	last   time.Duration
	taken  bool
	stacks stackTable
	points []historyPoint
}

type historyPoint struct {
	at     time.Duration
	cycle  uint32
	values [][3]int64
}

// add records the in-use heap of snap if a point is due.
func (h *history) add(snap peak.Snapshot, rate int) {
	if h.every == 0 {
		h.every = historyEvery
	}
	if h.taken && snap.Seen-h.last < h.every {
		return
	}
	h.taken = true
	h.last = snap.Seen
	pt := historyPoint{at: snap.Seen, cycle: snap.Cycle}
	// The runtime keeps one record per (stack, allocation size): each is
	// unbiased at its own size, then summed into its stack's value.
	at := make(map[int]int)
	for i := range snap.Records {
		r := &snap.Records[i]
		objs, bytes := r.AllocObjects-r.FreeObjects, r.AllocBytes-r.FreeBytes
		if objs <= 0 || bytes <= 0 {
			continue
		}
		idx := h.stacks.id(r.Stack())
		objs, bytes = peak.Unbias(objs, bytes, rate)
		j, ok := at[idx]
		if !ok {
			j = len(pt.values)
			at[idx] = j
			pt.values = append(pt.values, [3]int64{int64(idx), 0, 0})
		}
		pt.values[j][1] += objs
		pt.values[j][2] += bytes
	}
	h.points = append(h.points, pt)
	if len(h.points) >= historyPoints {
		kept := h.points[:0]
		for i := 0; i < len(h.points); i += 2 {
			kept = append(kept, h.points[i])
		}
		// The newest point stays: it is the state at the end.
		if last := h.points[len(h.points)-1]; kept[len(kept)-1].cycle != last.cycle {
			kept = append(kept, last)
		}
		for i := len(kept); i < len(h.points); i++ {
			h.points[i] = historyPoint{}
		}
		h.points = kept
		h.every *= 2
	}
}

// file symbolizes the history for the run directory.
func (h *history) file(t *tracker) *raw.History {
	f := &raw.History{
		Version: raw.Version,
		Rate:    t.rate,
		Frames:  []raw.Frame{},
		Stacks:  make([][]int, len(h.stacks.pcs)),
		Points:  make([]raw.HistoryPoint, 0, len(h.points)),
	}
	table := frameTable{t: t, index: make(map[raw.Frame]int)}
	for i, pcs := range h.stacks.pcs {
		f.Stacks[i] = table.stack(pcs)
	}
	f.Frames = append(f.Frames, table.frames...)
	for _, p := range h.points {
		values := p.values
		if values == nil {
			values = [][3]int64{}
		}
		f.Points = append(f.Points, raw.HistoryPoint{AtNS: int64(p.at), Cycle: p.cycle, Values: values})
	}
	return f
}
