package tracker

import (
	"sort"
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
// churn afterwards. Its memory is bounded: at most historyPoints points and
// historyValues values over them, each point holding the stacks with
// anything in use, the largest historyValues/historyMinPoints of them at
// most.
type history struct {
	every  time.Duration
	last   time.Duration
	taken  bool
	stacks *peak.Table
	points []historyPoint
	// at is, by stack id, 1 + the stack's index in the point being made.
	at []int32
	// nvalues counts the values the points hold.
	nvalues int
}

type historyPoint struct {
	at     time.Duration
	cycle  uint32
	values [][3]int64
}

const (
	// historyValues bounds the values the points hold together: when a
	// point would go past it, every other point is dropped, as when there
	// are historyPoints.
	historyValues = 1 << 15
	// historyMinPoints is how many points there is always room for.
	historyMinPoints = 8
)

// add records the in-use heap of snap if a point is due. A snapshot of
// Counts is of h.stacks.
func (h *history) add(snap peak.Snapshot, rate int) {
	if h.every == 0 {
		h.every = historyEvery
	}
	if h.taken && snap.Seen-h.last < h.every {
		return
	}
	if h.stacks == nil {
		h.stacks = &peak.Table{}
	}
	h.taken = true
	h.last = snap.Seen
	pt := historyPoint{at: snap.Seen, cycle: snap.Cycle}
	// The runtime keeps one record per (stack, allocation size): each is
	// unbiased at its own size, then summed into its stack's value. The
	// stacks are counted first, so that the point takes no more memory
	// than its values.
	if n := h.stacks.Stacks(); len(h.at) < n {
		// Room for the stacks known, and an eighth more: appended one at a
		// time, it would double, and hold up to twice what it needs.
		at := make([]int32, n, n+n/8)
		copy(at, h.at)
		h.at = at
	}
	n := 0
	snap.Each(h.stacks, func(stack uint32, size, allocs, frees int64) {
		if allocs-frees <= 0 || size <= 0 {
			return
		}
		for len(h.at) <= int(stack) {
			h.at = append(h.at, 0)
		}
		if h.at[stack] == 0 {
			h.at[stack] = -1
			n++
		}
	})
	pt.values = make([][3]int64, 0, n)
	snap.Each(h.stacks, func(stack uint32, size, allocs, frees int64) {
		objs := allocs - frees
		if objs <= 0 || size <= 0 {
			return
		}
		objs, bytes := peak.Unbias(objs, objs*size, rate)
		j := h.at[stack] - 1
		if j < 0 {
			j = int32(len(pt.values))
			h.at[stack] = j + 1
			pt.values = append(pt.values, [3]int64{int64(stack), 0, 0})
		}
		pt.values[j][1] += objs
		pt.values[j][2] += bytes
	})
	for _, v := range pt.values {
		h.at[v[0]] = 0
	}
	if most := historyValues / historyMinPoints; len(pt.values) > most {
		// The largest stacks: a leak worth the name is among them.
		sort.Slice(pt.values, func(i, j int) bool { return pt.values[i][2] > pt.values[j][2] })
		pt.values = append([][3]int64(nil), pt.values[:most]...)
	}
	for len(h.points) > 1 && h.nvalues+len(pt.values) > historyValues {
		h.thin()
	}
	h.points = append(h.points, pt)
	h.nvalues += len(pt.values)
	if len(h.points) >= historyPoints {
		h.thin()
	}
}

// thin drops every other point, keeping the newest, the state at the end,
// and takes points half as often.
func (h *history) thin() {
	kept := h.points[:0]
	n := 0
	for i := 0; i < len(h.points); i += 2 {
		kept = append(kept, h.points[i])
		n += len(h.points[i].values)
	}
	if last := h.points[len(h.points)-1]; kept[len(kept)-1].cycle != last.cycle {
		kept = append(kept, last)
		n += len(last.values)
	}
	for i := len(kept); i < len(h.points); i++ {
		h.points[i] = historyPoint{}
	}
	h.points = kept
	h.nvalues = n
	h.every *= 2
}

// file symbolizes the history for the run directory: the stacks its
// points hold, numbered in the order of their ids, each symbolized as it
// is written, and the points.
func (h *history) file(t *tracker) raw.HistoryStream {
	f := &raw.History{Version: raw.Version, Rate: t.rate, Frames: []raw.Frame{}}
	if h.stacks == nil {
		return raw.HistoryStream{History: f, EachStack: func(func([]int)) {}, EachPoint: func(func(*raw.HistoryPoint)) {}}
	}
	// num is, by stack id, 1 + the stack's number in the file, 0 if no
	// point holds it.
	num := make([]int32, h.stacks.Stacks())
	for _, p := range h.points {
		for _, v := range p.values {
			num[v[0]] = 1
		}
	}
	frames, eachStack := numberStacks(t, num, h.stacks)
	f.Frames = append(f.Frames, frames...)
	return raw.HistoryStream{
		History:   f,
		EachStack: eachStack,
		EachPoint: func(yield func(*raw.HistoryPoint)) {
			var values [][3]int64
			for _, p := range h.points {
				values = values[:0]
				if values == nil {
					values = [][3]int64{}
				}
				for _, v := range p.values {
					values = append(values, [3]int64{int64(num[v[0]] - 1), v[1], v[2]})
				}
				yield(&raw.HistoryPoint{AtNS: int64(p.at), Cycle: p.cycle, Values: values})
			}
		},
	}
}
