package tracker

import (
	"encoding/binary"
	"math/bits"
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
// both). Its memory is bounded: at most momentsMax moments, whose values
// (a few bytes per stack holding anything at the mark, varint-encoded)
// take at most momentsBytes together, but for a single moment.
type moments struct {
	stride int
	seen   int
	stacks *peak.Table
	list   []moment
	// size is the bytes the list's values take.
	size int
}

type moment struct {
	cycle       uint32
	at          int64 // nanoseconds since the tracker started
	bytes, live int64
	exact       uint64
	// values are the stacks holding anything at the mark, by increasing
	// id: per stack, the varints of its id less the one before, objects,
	// bytes and live bytes.
	values []byte
}

type momentValue struct {
	stack                int
	objects, bytes, live int64
}

// momentsBytes bounds the memory of the moments' values.
const momentsBytes = 512 << 10

// add records the heap at one mark.
func (m *moments) add(p peak.Peak) {
	if m.stride == 0 {
		m.stride = 1
	}
	if n := len(m.list); n > 0 && m.list[n-1].cycle == p.Cycle {
		// The same mark accounted again (a forced GC's early publication):
		// the later figures are the mark's.
		m.size -= len(m.list[n-1].values)
		m.fill(&m.list[n-1], p)
		m.size += len(m.list[n-1].values)
		return
	}
	m.seen++
	if (m.seen-1)%m.stride != 0 {
		return
	}
	var kept moment
	m.fill(&kept, p)
	for len(m.list) > 1 && m.size+len(kept.values) > momentsBytes {
		m.halve()
	}
	m.list = append(m.list, kept)
	m.size += len(kept.values)
	if len(m.list) >= momentsMax {
		m.halve()
	}
}

// halve drops every other moment and keeps marks half as often.
func (m *moments) halve() {
	half := m.list[:0]
	m.size = 0
	for i := 0; i < len(m.list); i += 2 {
		half = append(half, m.list[i])
		m.size += len(m.list[i].values)
	}
	for i := len(half); i < len(m.list); i++ {
		m.list[i] = moment{}
	}
	m.list = half
	m.stride *= 2
}

// fill makes mo the heap of p, reusing its values' memory.
func (m *moments) fill(mo *moment, p peak.Peak) {
	if m.stacks == nil {
		m.stacks = &peak.Table{}
	}
	mo.cycle, mo.at = p.Cycle, int64(peakTime(p))
	mo.bytes, mo.live, mo.exact = p.Bytes, p.LiveBytes, provenExact(p)
	// The stacks holding anything, in the order of their ids.
	each := func(f func(id uint64, s peak.Stack)) {
		for _, s := range p.Stacks {
			if s.Bytes > 0 {
				f(uint64(s.ID), s)
			}
		}
	}
	if p.Table != m.stacks || !byID(p.Stacks) {
		// A peak, by bytes: ordered by id in a scratch made for it, which
		// would take 8 bytes per stack if kept. (A pair's stacks come in
		// the order of their ids, as the accountant makes them.)
		order := make([]uint64, 0, len(p.Stacks))
		for i, s := range p.Stacks {
			if s.Bytes > 0 {
				id := s.ID
				if p.Table != m.stacks {
					id = m.stacks.Stack(p.PCs(s))
				}
				order = append(order, uint64(id)<<32|uint64(i))
			}
		}
		sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
		each = func(f func(id uint64, s peak.Stack)) {
			for _, o := range order {
				f(o>>32, p.Stacks[uint32(o)])
			}
		}
	}
	// The values' size first, so that they are made at once, in memory
	// of their own size, not grown by appends that leave copies behind.
	n, prev := 0, uint64(0)
	each(func(id uint64, s peak.Stack) {
		n += uvarintLen(id-prev) + varintLen(s.Objects) + varintLen(s.Bytes) + varintLen(s.LiveBytes)
		prev = id
	})
	b := mo.values[:0]
	if cap(b) < n || cap(b) > 2*n+64 {
		b = make([]byte, 0, n)
	}
	prev = 0
	each(func(id uint64, s peak.Stack) {
		b = binary.AppendUvarint(b, id-prev)
		b = binary.AppendVarint(b, s.Objects)
		b = binary.AppendVarint(b, s.Bytes)
		b = binary.AppendVarint(b, s.LiveBytes)
		prev = id
	})
	mo.values = b
}

// uvarintLen is the length of x as binary.AppendUvarint writes it.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// varintLen is the length of x as binary.AppendVarint writes it.
func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

// byID reports whether stacks are in the order of their ids, each once.
func byID(stacks []peak.Stack) bool {
	for i := 1; i < len(stacks); i++ {
		if stacks[i].ID <= stacks[i-1].ID {
			return false
		}
	}
	return true
}

// valueReader reads a moment's values in order, one at a time.
type valueReader struct {
	b     []byte
	stack uint64
}

// next is the next value, false at the end.
func (r *valueReader) next() (momentValue, bool) {
	if len(r.b) == 0 {
		return momentValue{}, false
	}
	var v [4]int64
	d, n := binary.Uvarint(r.b)
	r.b = r.b[n:]
	for i := 1; i < 4; i++ {
		v[i], n = binary.Varint(r.b)
		r.b = r.b[n:]
	}
	r.stack += d
	return momentValue{stack: int(r.stack), objects: v[1], bytes: v[2], live: v[3]}, true
}

// stream symbolizes the moments, the peak's mark and the last included, in
// the order of their cycles, each as its changes from the one before: the
// stacks are symbolized and the changes made as they are written, never
// all held at once.
func (m *moments) stream(t *tracker) raw.MomentsStream {
	f := &raw.Moments{Version: raw.Version, Rate: t.rate, Frames: []raw.Frame{}}
	if m.stride == 0 {
		return raw.MomentsStream{Moments: f, EachStack: func(func([]int)) {}, EachMoment: func(func(*raw.Moment)) {}}
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
	// the order of their ids: num is, by stack id, 1 + the stack's number
	// in the file, 0 if no moment holds it.
	num := make([]int32, m.stacks.Stacks())
	for _, mo := range kept {
		r := valueReader{b: mo.values}
		for v, ok := r.next(); ok; v, ok = r.next() {
			num[v.stack] = 1
		}
	}
	frames, eachStack := numberStacks(t, num, m.stacks)
	f.Frames = append(f.Frames, frames...)
	// Each moment's changes are made from its values and the one's
	// before as they are written, never held all at once.
	var prev, cur []byte
	return raw.MomentsStream{
		Moments:   f,
		EachStack: eachStack,
		EachMoment: func(yield func(*raw.Moment)) {
			prev = nil
			for _, mo := range kept {
				cur = mo.values
				yield(&raw.Moment{Cycle: mo.cycle, AtNS: mo.at, Bytes: mo.bytes, LiveBytes: mo.live, ExactBytes: mo.exact})
				prev = cur
			}
		},
		EachChange: func(yield func([4]int64)) {
			eachChange(valueReader{b: prev}, valueReader{b: cur}, func(c [4]int64) {
				c[0] = int64(num[c[0]] - 1)
				yield(c)
			})
		},
	}
}

// eachChange calls yield with the stacks whose figures differ between the
// values prev and cur read, both in the order of their stacks: cur's
// figures, or zeros for a stack cur does not hold.
func eachChange(prev, cur valueReader, yield func([4]int64)) {
	p, pok := prev.next()
	c, cok := cur.next()
	for pok || cok {
		switch {
		case !cok || pok && p.stack < c.stack:
			yield([4]int64{int64(p.stack), 0, 0, 0})
			p, pok = prev.next()
		case !pok || c.stack < p.stack:
			yield([4]int64{int64(c.stack), c.objects, c.bytes, c.live})
			c, cok = cur.next()
		default:
			if p != c {
				yield([4]int64{int64(c.stack), c.objects, c.bytes, c.live})
			}
			p, pok = prev.next()
			c, cok = cur.next()
		}
	}
}
