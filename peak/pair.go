package peak

import (
	"math"
	"runtime"
	"sort"
)

// key names one heap-profile record: the runtime keeps one per allocation
// stack and allocation size (stkbucket in src/runtime/mprof.go hashes
// both), so a line that allocates many sizes has many records.
type key struct {
	stack [32]uintptr
	size  int64
}

// records is a snapshot's records by key.
type records map[key]runtime.MemProfileRecord

// index keys a snapshot's records. A record with neither allocations nor
// frees published holds nothing yet and is left out.
func index(rs []runtime.MemProfileRecord) records {
	m := make(records, len(rs))
	for i := range rs {
		r := &rs[i]
		size, ok := recordSize(r)
		if !ok {
			continue
		}
		k := key{stack: r.Stack0, size: size}
		if old, dup := m[k]; dup {
			// The runtime keys its buckets by the whole stack (up to
			// GODEBUG=profstackdepth frames), MemProfile keeps 32:
			// deeper stacks that differ only beyond them share a key.
			r2 := *r
			r2.AllocObjects += old.AllocObjects
			r2.AllocBytes += old.AllocBytes
			r2.FreeObjects += old.FreeObjects
			r2.FreeBytes += old.FreeBytes
			m[k] = r2
			continue
		}
		m[k] = *r
	}
	return m
}

// recordSize is the allocation size of a record's objects: every object of
// a record has the same size, the allocator's rounded one.
func recordSize(r *runtime.MemProfileRecord) (int64, bool) {
	switch {
	case r.AllocObjects > 0:
		return r.AllocBytes / r.AllocObjects, true
	case r.FreeObjects > 0:
		return r.FreeBytes / r.FreeObjects, true
	}
	return 0, false
}

// sums are a snapshot's totals, enough to tell two snapshots apart.
type sums struct{ allocs, frees, allocBytes, freeBytes int64 }

func totals(rs []runtime.MemProfileRecord) sums {
	var s sums
	for _, r := range rs {
		s.allocs += r.AllocObjects
		s.frees += r.FreeObjects
		s.allocBytes += r.AllocBytes
		s.freeBytes += r.FreeBytes
	}
	return s
}

// garbage is what the sweep before a mark freed from one stack, unbiased.
type garbage struct{ objects, bytes int64 }

// pair computes the heap at the mark termination between base and top, one
// record at a time, and sums it per stack. When older (the snapshot before
// base) is given, it also returns, per stack of the result, what the sweep
// before the mark freed (base.free − older.free), for the unswept
// correction. The stacks are not sorted.
func (a *Accountant) pair(base, top, older records) (Peak, []garbage) {
	var p Peak
	var gs []garbage
	byStack := make(map[[32]uintptr]int, len(top))
	for k, t := range top {
		b := base[k] // zero when the record first appears in top
		var st Stack
		st.Objects, st.Bytes = a.unbias(t.AllocObjects-b.FreeObjects, t.AllocBytes-b.FreeBytes)
		st.LiveObjects, st.LiveBytes = a.unbias(t.AllocObjects-t.FreeObjects, t.AllocBytes-t.FreeBytes)
		var g garbage
		if older != nil {
			o := older[k]
			g.objects, g.bytes = a.unbias(b.FreeObjects-o.FreeObjects, b.FreeBytes-o.FreeBytes)
		}
		if st.Bytes == 0 && st.LiveBytes == 0 && g.bytes == 0 {
			continue
		}
		i, ok := byStack[k.stack]
		if !ok {
			i = len(p.Stacks)
			byStack[k.stack] = i
			// Copy the stack: t is a copy of the map's value, and the
			// package may be compiled with per-loop (pre-Go 1.22) loop
			// variables.
			p.Stacks = append(p.Stacks, Stack{PCs: append([]uintptr(nil), t.Stack()...)})
			gs = append(gs, garbage{})
		}
		s := &p.Stacks[i]
		s.Objects += st.Objects
		s.Bytes += st.Bytes
		s.LiveObjects += st.LiveObjects
		s.LiveBytes += st.LiveBytes
		s.Records++
		gs[i].objects += g.objects
		gs[i].bytes += g.bytes
		p.Objects += st.Objects
		p.Bytes += st.Bytes
		p.LiveBytes += st.LiveBytes
	}
	p.Sampled = p.Bytes
	if older == nil {
		gs = nil
	}
	return p, gs
}

// unbias scales one record's counts, or returns zeros for counts that hold
// nothing.
func (a *Accountant) unbias(objects, bytes int64) (int64, int64) {
	if objects <= 0 || bytes <= 0 {
		return 0, 0
	}
	return Unbias(objects, bytes, a.Rate)
}

// addUnswept adds extra bytes of garbage not yet swept to p, taken from what
// the sweep before the mark freed (g, per stack), the same share from every
// stack and never more than all of it.
func (p *Peak) addUnswept(g []garbage, extra int64) {
	var total int64
	for _, x := range g {
		total += x.bytes
	}
	if total <= 0 || extra <= 0 {
		return
	}
	share := float64(extra) / float64(total)
	if share > 1 {
		share = 1
	}
	for i := range p.Stacks {
		ob := int64(share*float64(g[i].objects) + 0.5)
		by := int64(share*float64(g[i].bytes) + 0.5)
		p.Stacks[i].Objects += ob
		p.Stacks[i].Bytes += by
		p.Objects += ob
		p.Bytes += by
		p.Unswept += by
	}
}

// sort drops the stacks that hold nothing at the moment and orders the rest
// by bytes, largest first.
func (p *Peak) sort() {
	kept := p.Stacks[:0]
	for _, st := range p.Stacks {
		if st.Bytes > 0 {
			kept = append(kept, st)
		}
	}
	p.Stacks = kept
	sort.Slice(p.Stacks, func(i, j int) bool {
		if p.Stacks[i].Bytes != p.Stacks[j].Bytes {
			return p.Stacks[i].Bytes > p.Stacks[j].Bytes
		}
		return lessPCs(p.Stacks[i].PCs, p.Stacks[j].PCs)
	})
}

func lessPCs(a, b []uintptr) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// Unbias scales a sampled (objects, bytes) pair of one record to an
// estimate of the true values, as runtime/pprof does (scaleHeapSample): an
// allocation of size avg is sampled with probability 1−exp(−avg/rate). It
// must be applied to one (stack, size) record at a time: the average of
// several sizes is not the size of any of them.
func Unbias(objects, bytes int64, rate int) (int64, int64) {
	if objects <= 0 || rate <= 1 {
		return objects, bytes
	}
	avg := float64(bytes) / float64(objects)
	scale := 1 / (1 - math.Exp(-avg/float64(rate)))
	return int64(float64(objects)*scale + 0.5), int64(float64(bytes)*scale + 0.5)
}
