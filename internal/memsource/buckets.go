package memsource

import (
	"math"
	"unsafe"

	"github.com/gofil/gofil/peak"
)

// bucketReader reads the runtime's heap profile straight into a
// peak.Table, bucket by bucket (memProfileInternal), keeping per bucket
// only its record's id: the runtime lists its buckets newest first and
// never removes one, so, counted from the oldest, a bucket's place in the
// list is its name from one read to the next. The buckets met before the
// newest of the last read are new; they are given their records after the
// runtime's lock is released, because records are allocated. A bucket's
// stack is the runtime's own, which never changes: the Table keeps it
// without a copy.
//
// Should the list ever not be as described (the newest bucket of the last
// read not found, or the oldest not last), the reader says so and the
// tracker goes back to runtime.MemProfile.
type bucketReader struct {
	tab *peak.Table
	// recs is, by bucket from the oldest, its record in tab, or noRecord
	// while it has published nothing and its size is not known: in pages
	// of recsPage, so that growing it leaves no garbage copy behind.
	recs  [][]uint32
	nrecs int
	// newest and oldest name the newest and the oldest bucket read so
	// far (bucketID).
	newest, oldest uintptr
	// pending are the buckets of a read still to be given a record, the
	// first npending of its pages of pendingPage: the callback cannot
	// allocate, so a read that finds them full is tried again with more
	// pages, which are kept, so that growing them leaves no garbage copy
	// behind.
	pending  [][]pendingBucket
	npending int
	visit    func(memRecord)

	// The state of one read.
	c       *peak.Counts
	visited int
	known   bool // past the buckets that are new
	pos     int  // recs index of the next known bucket, counting down
	fresh   int  // new buckets met
	stashed int  // buckets to be given a record, pending or not
	first   uintptr
	last    uintptr
	// full: pending had no room left; wide: a count did not fit in 32
	// bits; bad: the list is not as expected.
	full, wide, bad bool
}

const noRecord = math.MaxUint32

const recsPage = 4096

func (b *bucketReader) rec(i int) *uint32 { return &b.recs[i/recsPage][i%recsPage] }

func (b *bucketReader) appendRec(r uint32) {
	if b.nrecs == len(b.recs)*recsPage {
		b.recs = append(b.recs, make([]uint32, recsPage))
	}
	*b.rec(b.nrecs) = r
	b.nrecs++
}

// pendingBucket is a bucket met in a read that has no record yet: a new
// one (pos −1; the new ones come first, newest first), or a known one that
// published its first counts. size is 0 while it has published nothing.
// Its stack is the runtime's (memRecord.Stack): its first frame and their
// number, which take 12 bytes where a slice takes 24.
type pendingBucket struct {
	stack                     *uintptr
	depth                     int32
	pos                       int32
	size                      int64
	allocObjects, freeObjects int64
}

// pendingPage is how many pending buckets a page holds.
const pendingPage = 1024

func newBucketReader(tab *peak.Table) *bucketReader {
	b := &bucketReader{tab: tab}
	b.reservePending(pendingPage)
	b.visit = b.onBucket
	return b
}

// pendingAt is pending bucket i.
func (b *bucketReader) pendingAt(i int) *pendingBucket {
	return &b.pending[i/pendingPage][i%pendingPage]
}

// reservePending makes room for n pending buckets.
func (b *bucketReader) reservePending(n int) {
	for len(b.pending)*pendingPage < n {
		b.pending = append(b.pending, make([]pendingBucket, pendingPage))
	}
}

// trimPending frees the pending pages beyond room for 2n buckets when
// there is room for more than 4n: the first reads, which have the most new
// buckets, leave room the next are unlikely to need.
func (b *bucketReader) trimPending(n int) {
	if len(b.pending)*pendingPage > 4*n {
		keep := (2*n + pendingPage - 1) / pendingPage
		for i := keep; i < len(b.pending); i++ {
			b.pending[i] = nil
		}
		b.pending = b.pending[:keep]
	}
}

// onBucket is memProfileInternal's callback, called under the runtime's
// profile lock: it must not allocate or panic.
func (b *bucketReader) onBucket(r memRecord) {
	id := bucketID(&r)
	if b.visited == 0 {
		b.first = id
	}
	b.visited++
	b.last = id
	if !b.known && b.newest != 0 && id == b.newest {
		b.known = true
		b.pos = b.nrecs - 1
	}
	if !b.known {
		b.stash(&r, -1)
		b.fresh++
		return
	}
	if b.pos < 0 {
		b.bad = true
		return
	}
	i := b.pos
	b.pos--
	rec := *b.rec(i)
	if rec == noRecord {
		if r.AllocObjects != 0 || r.FreeObjects != 0 {
			b.stash(&r, i)
		}
		return
	}
	if !b.c.Add(rec, uint64(r.AllocObjects), uint64(r.FreeObjects)) {
		b.wide = true
	}
}

func (b *bucketReader) stash(r *memRecord, pos int) {
	b.stashed++
	if b.npending == len(b.pending)*pendingPage {
		b.full = true
		return
	}
	var size int64
	switch {
	case r.AllocObjects > 0:
		size = r.AllocBytes / r.AllocObjects
	case r.FreeObjects > 0:
		size = r.FreeBytes / r.FreeObjects
	}
	var stack *uintptr
	if len(r.Stack) > 0 {
		stack = &r.Stack[0]
	}
	*b.pendingAt(b.npending) = pendingBucket{
		stack: stack, depth: int32(len(r.Stack)), size: size,
		allocObjects: r.AllocObjects, freeObjects: r.FreeObjects,
		pos: int32(pos),
	}
	b.npending++
}

// read reads the profile once into a new snapshot of the Table. It
// returns false, the Table's records unchanged, when the read must be
// tried again (a count needed 64 bits, or more buckets were new than
// there was room for: both fixed for the next try) or the runtime's list
// is not as expected (failed).
func (b *bucketReader) read() (c *peak.Counts, ok bool) {
	b.c = b.tab.Begin()
	b.npending = 0
	b.visited, b.fresh, b.stashed, b.pos = 0, 0, 0, -1
	b.known, b.full, b.wide, b.bad = false, false, false, false
	n, _ := memProfileInternal(math.MaxInt32, true, b.visit)
	c = b.c
	b.c = nil
	if b.visited != n || b.nrecs > 0 && (!b.known || b.pos != -1 || b.last != b.oldest) {
		b.bad = true
	}
	switch {
	case b.bad:
		return nil, false
	case b.wide:
		b.tab.Widen()
		return nil, false
	case b.full:
		// The read tried again comes right after, with about as many
		// new buckets: a quarter more is room enough.
		b.reservePending(b.stashed + b.stashed/4 + pendingPage)
		return nil, false
	}
	return c, true
}

// failed reports whether the last read found the runtime's list not as
// expected.
func (b *bucketReader) failed() bool { return b.bad }

// commit gives the buckets of a read that have published their first
// counts their records, and adds the counts to c, the read's snapshot.
// It is called once the read is known to be consistent.
func (b *bucketReader) commit(c *peak.Counts) {
	base := b.nrecs
	for i := 0; i < b.fresh; i++ {
		b.appendRec(noRecord)
	}
	for i := 0; i < b.npending; i++ {
		p := b.pendingAt(i)
		pos := int(p.pos)
		if pos < 0 {
			// The new buckets come first, the newest first.
			pos = base + b.fresh - 1 - i
		}
		if p.size == 0 {
			continue // nothing published yet: its size is not known
		}
		rec := b.tab.Record(unsafe.Slice(p.stack, int(p.depth)), p.size, true)
		*b.rec(pos) = rec
		c.Grow()
		if !c.Add(rec, uint64(p.allocObjects), uint64(p.freeObjects)) {
			b.tab.Widen()
			c.Add(rec, uint64(p.allocObjects), uint64(p.freeObjects))
		}
		p.stack = nil
	}
	if b.visited > 0 {
		b.newest = b.first
		if base == 0 {
			b.oldest = b.last
		}
	}
	b.trimPending(b.stashed + pendingPage/2)
	b.npending = 0
}
