package peak

import (
	"math"
	"runtime"
	"sort"
	"unsafe"
)

// records is one snapshot's counts by record (stack, allocation size):
// the runtime keeps one record per allocation stack and allocation size
// (stkbucket in src/runtime/mprof.go hashes both), so a line that
// allocates many sizes has many records. A nil records is no snapshot.
type records = *Counts

// table is the Accountant's Table, its own if none was given.
func (a *Accountant) table() *Table {
	if a.Table == nil {
		a.Table = &Table{}
	}
	return a.Table
}

// index gives s as counts in the Accountant's Table: s.Counts (whose
// Table becomes the Accountant's if it had none), or s.Records added to a
// buffer of the Table.
func (a *Accountant) index(s Snapshot) records {
	if s.Counts != nil {
		if a.Table == nil {
			a.Table = s.Counts.t
		}
		return s.Counts
	}
	return a.table().Index(s.Records)
}

// Index adds runtime.MemProfile records to a snapshot of t, and returns
// it: the latest snapshot, as Begin's. A record with neither allocations
// nor frees published holds nothing yet and is left out. Records whose
// first 32 frames and size are the same are one: the runtime keys its
// buckets by the whole stack (up to GODEBUG=profstackdepth frames),
// MemProfile keeps 32, so deeper stacks that differ only beyond them
// share a record.
func (t *Table) Index(rs []runtime.MemProfileRecord) *Counts {
	c := t.Begin()
	for i := range rs {
		r := &rs[i]
		size, ok := recordSize(r)
		if !ok || r.AllocObjects < 0 || r.FreeObjects < 0 {
			continue
		}
		rec := t.Record(r.Stack0[:], size, false)
		if c.Add(rec, uint64(r.AllocObjects), uint64(r.FreeObjects)) {
			continue
		}
		c.Grow()
		if !c.Add(rec, uint64(r.AllocObjects), uint64(r.FreeObjects)) {
			t.Widen()
			c.Add(rec, uint64(r.AllocObjects), uint64(r.FreeObjects))
		}
	}
	return c
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

// totals are c's sums; c must be the latest snapshot of its Table.
func (c *Counts) totals() sums {
	var s sums
	t := c.t
	for i, n := 0, c.len(); i < n; i++ {
		al, fr := t.allocs.get(i), c.frees.get(i)
		s.allocs += al
		s.frees += fr
		s.allocBytes += al * t.size(i)
		s.freeBytes += fr * t.size(i)
	}
	return s
}

// Sums are the bytes allocated and freed that s publishes. A snapshot of
// Counts must be the latest read from its Table.
func (s Snapshot) Sums() (allocBytes, freeBytes int64) {
	if s.Counts != nil {
		t := s.Counts.totals()
		return t.allocBytes, t.freeBytes
	}
	for i := range s.Records {
		allocBytes += s.Records[i].AllocBytes
		freeBytes += s.Records[i].FreeBytes
	}
	return allocBytes, freeBytes
}

// Each calls f with every record of s that published an allocation or a
// free: its stack's id in t, its allocation size and its cumulative
// objects allocated and freed. A snapshot of Records has its stacks added
// to t; one of Counts must be of t, and the latest read from it.
func (s Snapshot) Each(t *Table, f func(stack uint32, size, allocObjects, freeObjects int64)) {
	if s.Counts == nil {
		for i := range s.Records {
			r := &s.Records[i]
			if size, ok := recordSize(r); ok {
				f(t.Stack(r.Stack0[:]), size, r.AllocObjects, r.FreeObjects)
			}
		}
		return
	}
	c := s.Counts
	for i, n := 0, c.len(); i < n; i++ {
		al, fr := c.t.allocs.get(i), c.frees.get(i)
		if al != 0 || fr != 0 {
			f(c.t.stackOf(i), c.t.size(i), al, fr)
		}
	}
}

// garbage is what the sweep before a mark freed from one stack, unbiased.
type garbage struct{ objects, bytes int64 }

// pair computes the heap at the mark termination between base and top, one
// record at a time, and sums it per stack. When older (the snapshot before
// base) is given, the result also holds the stacks from which the sweep
// before the mark freed something (base.free − older.free), holding
// nothing or not, for the unswept correction (addUnswept). The stacks are
// not sorted. top must be the latest snapshot read from the Table. The
// result's Stacks are the Accountant's buffer, reused by the next pair
// (settle).
func (a *Accountant) pair(base, top, older records) Peak {
	t := top.t
	p := Peak{rate: a.Rate}
	p.Stacks = a.scratch[:0]
	p.Table = t
	a.at.grow(t.Stacks())
	for i, n := 0, top.len(); i < n; i++ {
		st, ok := a.record(i, base, top)
		if !ok || st.Bytes == 0 && st.LiveBytes == 0 && a.freed(i, base, older).bytes == 0 {
			continue
		}
		s := a.stackOf(&p, t.stackOf(i))
		s.Objects += st.Objects
		s.Bytes += st.Bytes
		s.LiveObjects += st.LiveObjects
		s.LiveBytes += st.LiveBytes
		s.Records++
		p.Objects += st.Objects
		p.Bytes += st.Bytes
		p.LiveBytes += st.LiveBytes
	}
	a.unindex(&p)
	a.scratch = p.Stacks
	p.Sampled = p.Bytes
	return p
}

// record is record i's share of the pair of base and top, unbiased; false
// when it had published nothing when top was taken.
func (a *Accountant) record(i int, base, top records) (Stack, bool) {
	t := top.t
	tAlloc, tFree := t.allocs.get(i), top.frees.get(i)
	if tAlloc == 0 && tFree == 0 {
		return Stack{}, false // not published yet when top was taken
	}
	size := t.size(i)
	bFree := base.free(i) // zero when the record first appears in top
	var st Stack
	st.Objects, st.Bytes = a.unbias(tAlloc-bFree, (tAlloc-bFree)*size)
	st.LiveObjects, st.LiveBytes = a.unbias(tAlloc-tFree, (tAlloc-tFree)*size)
	return st, true
}

// freed is what the sweep between older and base freed of record i,
// unbiased; nothing without older.
func (a *Accountant) freed(i int, base, older records) garbage {
	var g garbage
	if older != nil {
		bFree, oFree := base.free(i), older.free(i)
		g.objects, g.bytes = a.unbias(bFree-oFree, (bFree-oFree)*base.t.size(i))
	}
	return g
}

// stackOf is p's stack of id sid, added if p has none; a.at indexes p's
// stacks by id while p is made (unindex).
func (a *Accountant) stackOf(p *Peak, sid uint32) *Stack {
	j := a.at.get(int(sid)) - 1
	if j < 0 {
		j = int32(len(p.Stacks))
		a.at.set(int(sid), j+1)
		p.Stacks = append(p.Stacks, Stack{ID: sid})
	}
	return &p.Stacks[j]
}

// unindex clears a.at of p's stacks.
func (a *Accountant) unindex(p *Peak) {
	for _, s := range p.Stacks {
		a.at.set(int(s.ID), 0)
	}
}

// inUse is what c holds in use, unbiased one record at a time; c must be
// the latest snapshot of its Table.
func (a *Accountant) inUse(c records) int64 {
	var inuse int64
	t := c.t
	for i, n := 0, c.len(); i < n; i++ {
		objs := t.allocs.get(i) - c.frees.get(i)
		_, b := a.unbias(objs, objs*t.size(i))
		inuse += b
	}
	return inuse
}

// settle, after a snapshot is added, gives the Table the snapshots the
// Accountant still needs, and the buffers pair fills to a new pair: a new
// peak takes the buffer the pair filled. The bound keeps its figures
// only: nothing reads its stacks, and a copy of them would take as much
// memory as the peak's.
func (a *Accountant) settle() {
	a.table().held = [2]*Counts{a.prev, a.older}
	if a.havePeak && sameArray(a.peak.Stacks, a.scratch) {
		a.scratch, a.peakStacks = a.peakStacks[:0], a.scratch
	}
	if a.hasBound {
		a.bound.Stacks = nil
	}
}

// sameArray reports whether x and y share their underlying array.
func sameArray(x, y []Stack) bool {
	return cap(x) > 0 && cap(y) > 0 && &x[:cap(x)][0] == &y[:cap(y)][0]
}

// unbias scales one record's counts, or returns zeros for counts that hold
// nothing.
func (a *Accountant) unbias(objects, bytes int64) (int64, int64) {
	if objects <= 0 || bytes <= 0 {
		return 0, 0
	}
	return Unbias(objects, bytes, a.Rate)
}

// addUnswept adds extra bytes of garbage not yet swept to p, the pair of
// base, top and older, taken from what the sweep before the mark freed
// (base's frees less older's, per stack), the same share from every stack
// and never more than all of it. What the sweep freed is counted again
// here, when it is needed, rather than kept by every pair (16 bytes per
// stack).
func (a *Accountant) addUnswept(p *Peak, base, top, older records, extra int64) {
	if extra <= 0 || older == nil {
		return
	}
	t := top.t
	for j, s := range p.Stacks {
		a.at.set(int(s.ID), int32(j)+1)
	}
	g := make([]garbage, len(p.Stacks))
	var total int64
	for i, n := 0, top.len(); i < n; i++ {
		if _, ok := a.record(i, base, top); !ok {
			continue
		}
		x := a.freed(i, base, older)
		if x.bytes == 0 {
			continue
		}
		// pair holds every stack the sweep freed from.
		j := a.at.get(int(t.stackOf(i))) - 1
		g[j].objects += x.objects
		g[j].bytes += x.bytes
		total += x.bytes
	}
	a.unindex(p)
	if total <= 0 {
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

// dropEmpty drops the stacks that hold nothing at the moment.
func (p *Peak) dropEmpty() {
	kept := p.Stacks[:0]
	for _, st := range p.Stacks {
		if st.Bytes > 0 {
			kept = append(kept, st)
		}
	}
	p.Stacks = kept
	p.sorted = false
}

// sort drops the stacks that hold nothing at the moment and orders the rest
// by bytes, largest first.
func (p *Peak) sort() {
	p.dropEmpty()
	p.sorted = true
	t := p.Table
	sort.Slice(p.Stacks, func(i, j int) bool {
		if p.Stacks[i].Bytes != p.Stacks[j].Bytes {
			return p.Stacks[i].Bytes > p.Stacks[j].Bytes
		}
		return lessPCs(t.PCs(p.Stacks[i].ID), t.PCs(p.Stacks[j].ID))
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

// buffers are what the Accountant reuses from one snapshot to the next
// (pair, settle).
type buffers struct {
	// scratch is what pair fills, the last pair's stacks; peakStacks
	// holds the peak's.
	scratch, peakStacks []Stack
	// at is, by stack id, 1 + the stack's index in the pair being made,
	// 0 if none.
	at pages[int32]
}

// Bytes is about the memory the Accountant holds: its Table, and the
// stacks of its last pair and of its peak.
func (a *Accountant) Bytes() uint64 {
	var n uint64
	if a.Table != nil {
		n = a.Table.Bytes()
	}
	stack := uint64(unsafe.Sizeof(Stack{}))
	n += uint64(cap(a.scratch)+cap(a.peakStacks)) * stack
	return n + a.at.bytes()
}
