package tracker

import (
	"sort"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// momentsMax bounds the moments kept: when the list is full, every other
// one is dropped and marks are kept half as often, so that the moments
// stay spread evenly over the run however many GC cycles it has.
const momentsMax = 64

// moments keeps the heap per stack at GC marks spread over the run, for
// the report's heap at any moment: every stride-th mark accounted, and,
// added when written, the peak's and the last (the accountant keeps
// both). Its memory is bounded by momentsMax moments of the stacks holding
// anything at their mark, and each stack's frames once.
type moments struct {
	stride int
	seen   int
	stacks stackTable
	list   []moment
}

type moment struct {
	cycle       uint32
	at          int64 // nanoseconds since the tracker started
	bytes, live int64
	exact       uint64
	values      []momentValue // sorted by stack
}

type momentValue struct {
	stack                int
	objects, bytes, live int64
}

// add records the heap at one mark.
func (m *moments) add(p peak.Peak) {
	if m.stride == 0 {
		m.stride = 1
	}
	if n := len(m.list); n > 0 && m.list[n-1].cycle == p.Cycle {
		// The same mark accounted again (a forced GC's early publication):
		// the later figures are the mark's.
		m.fill(&m.list[n-1], p)
		return
	}
	m.seen++
	if (m.seen-1)%m.stride != 0 {
		return
	}
	var kept moment
	m.fill(&kept, p)
	m.list = append(m.list, kept)
	if len(m.list) >= momentsMax {
		half := m.list[:0]
		for i := 0; i < len(m.list); i += 2 {
			half = append(half, m.list[i])
		}
		for i := len(half); i < len(m.list); i++ {
			m.list[i] = moment{}
		}
		m.list = half
		m.stride *= 2
	}
}

// fill makes mo the heap of p, reusing its values' memory.
func (m *moments) fill(mo *moment, p peak.Peak) {
	mo.cycle, mo.at = p.Cycle, int64(peakTime(p))
	mo.bytes, mo.live, mo.exact = p.Bytes, p.LiveBytes, provenExact(p)
	mo.values = mo.values[:0]
	for _, s := range p.Stacks {
		if s.Bytes <= 0 {
			continue
		}
		mo.values = append(mo.values, momentValue{stack: m.stacks.id(s.PCs), objects: s.Objects, bytes: s.Bytes, live: s.LiveBytes})
	}
	sort.Slice(mo.values, func(i, j int) bool { return mo.values[i].stack < mo.values[j].stack })
}

// file symbolizes the moments, the peak's mark and the last included, in
// the order of their cycles, each as its changes from the one before.
func (m *moments) file(t *tracker) *raw.Moments {
	f := &raw.Moments{Version: raw.Version, Rate: t.rate, Frames: []raw.Frame{}, Stacks: [][]int{}, Moments: []raw.Moment{}}
	if m.stride == 0 {
		return f
	}
	all := append([]moment(nil), m.list...)
	if p, ok := t.acc.Peak(); ok {
		var pm moment
		m.fill(&pm, p)
		all = append(all, pm)
	}
	if p, ok := t.acc.Last(); ok && !p.Approximate {
		var lm moment
		m.fill(&lm, p)
		all = append(all, lm)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].cycle < all[j].cycle })
	kept := all[:0]
	for i, mo := range all {
		if i+1 < len(all) && all[i+1].cycle == mo.cycle {
			continue // the later of two accountings of one mark
		}
		kept = append(kept, mo)
	}
	// Only the stacks the moments written hold are written, renumbered in
	// the order they were first seen.
	used := make(map[int]int)
	for _, mo := range kept {
		for _, v := range mo.values {
			used[v.stack] = 0
		}
	}
	order := make([]int, 0, len(used))
	for idx := range used {
		order = append(order, idx)
	}
	sort.Ints(order)
	table := frameTable{t: t, index: make(map[raw.Frame]int)}
	f.Stacks = make([][]int, len(order))
	for i, idx := range order {
		used[idx] = i
		f.Stacks[i] = table.stack(m.stacks.pcs[idx])
	}
	f.Frames = append(f.Frames, table.frames...)
	var prev []momentValue
	for _, mo := range kept {
		ch := changes(prev, mo.values)
		for j := range ch {
			ch[j][0] = int64(used[int(ch[j][0])])
		}
		f.Moments = append(f.Moments, raw.Moment{
			Cycle: mo.cycle, AtNS: mo.at, Bytes: mo.bytes, LiveBytes: mo.live, ExactBytes: mo.exact,
			Changes: ch,
		})
		prev = mo.values
	}
	return f
}

// changes lists the stacks whose figures differ between prev and cur, both
// sorted by stack: cur's figures, or zeros for a stack cur does not hold.
func changes(prev, cur []momentValue) [][4]int64 {
	out := [][4]int64{}
	i, j := 0, 0
	for i < len(prev) || j < len(cur) {
		switch {
		case j == len(cur) || i < len(prev) && prev[i].stack < cur[j].stack:
			out = append(out, [4]int64{int64(prev[i].stack), 0, 0, 0})
			i++
		case i == len(prev) || cur[j].stack < prev[i].stack:
			c := cur[j]
			out = append(out, [4]int64{int64(c.stack), c.objects, c.bytes, c.live})
			j++
		default:
			if p, c := prev[i], cur[j]; p != c {
				out = append(out, [4]int64{int64(c.stack), c.objects, c.bytes, c.live})
			}
			i++
			j++
		}
	}
	return out
}
