package peak

import (
	"math"
	"math/bits"
	"runtime"
	"unsafe"
)

// Table keeps what the Accountant needs of the heap profile between
// snapshots, in memory that grows with the distinct stacks and records and
// not with the snapshots: each distinct stack (its first 32 frames, as
// runtime.MemProfileRecord keeps them) has a small id and its frames once,
// each record (stack, allocation size) has an id, and a snapshot is its
// counts by record id (Counts), in one of three buffers reused in turn.
//
// Every object of a record has the same size, so a record's bytes are its
// objects times its size: only the objects are kept, as 32-bit counts until
// one no longer fits, then as 64-bit ones.
//
// A snapshot's frees are kept as long as the Accountant needs them; its
// allocations only until the next snapshot is read (the Accountant needs
// them only for the snapshot being added).
//
// The zero Table is ready to use. A Table is not safe for concurrent use.
type Table struct {
	// stackPCs and stackLen hold each stack's frames, by stack id: in
	// chunks of the Table's own, or in memory the source guarantees never
	// changes (Record's keep). A pointer and a length take 9 bytes where a
	// slice takes 24.
	stackPCs pages[*uintptr]
	stackLen pages[uint8]
	// firstRec is each stack's first record, −1 for none; recNext chains
	// a stack's records.
	firstRec pages[int32]
	// index finds a stack id by its frames: open addressing, id+1, 0 for
	// an empty slot; its length is a power of two, at least 4/3 of the
	// stacks.
	index []uint32
	chunk []uintptr
	// chunks counts the chunks of copied frames made.
	chunks int

	recStack pages[uint32]
	recSize  pages[uint32] // an index in sizes
	recNext  pages[int32]
	// sizes are the distinct allocation sizes, sizeIndex their indexes.
	sizes     []int64
	sizeIndex map[int64]uint32

	// allocs are the latest snapshot's allocated objects by record.
	allocs column
	// wide says the counts are 64-bit.
	wide bool
	bufs [3]*Counts
	// held are the buffers the Accountant still needs (its previous
	// snapshot and the one before): Begin hands out another.
	held [2]*Counts
}

// Counts is one heap-profile snapshot in a Table: the objects each record
// freed, by record id, and, while it is the latest snapshot read from the
// Table (Begin), the objects each allocated. A record that came after the
// snapshot counts zero in it.
type Counts struct {
	t     *Table
	frees column
}

// column is a count per record, 32-bit until a count does not fit.
type column struct {
	narrow pages[uint32]
	wide   pages[uint64]
	isWide bool
}

func (c *column) len() int {
	if c.isWide {
		return c.wide.len()
	}
	return c.narrow.len()
}

// get is record i's count, 0 for a record the column does not hold.
func (c *column) get(i int) int64 {
	if i >= c.len() {
		return 0
	}
	if c.isWide {
		return int64(c.wide.get(i))
	}
	return int64(c.narrow.get(i))
}

// fits reports whether record i is in the column and its count plus v
// still fits.
func (c *column) fits(i int, v uint64) bool {
	if i >= c.len() {
		return false
	}
	if c.isWide {
		return v <= math.MaxInt64-c.wide.get(i)
	}
	return v <= math.MaxUint32-uint64(c.narrow.get(i))
}

// add adds v to record i's count, which fits.
func (c *column) add(i int, v uint64) {
	if c.isWide {
		*c.wide.at(i) += v
		return
	}
	*c.narrow.at(i) += uint32(v)
}

// reset makes the column n zero counts, 64-bit if wide.
func (c *column) reset(n int, wide bool) {
	if wide && !c.isWide {
		c.narrow, c.isWide = pages[uint32]{}, true
	}
	if c.isWide {
		c.wide.resize(n)
		return
	}
	c.narrow.resize(n)
}

// grow adds zero counts up to n.
func (c *column) grow(n int) {
	if c.isWide {
		c.wide.grow(n)
		return
	}
	c.narrow.grow(n)
}

func (c *column) widen() {
	if c.isWide {
		return
	}
	c.isWide = true
	for i := 0; i < c.narrow.len(); i++ {
		c.wide.append(uint64(c.narrow.get(i)))
	}
	c.narrow = pages[uint32]{}
}

func (c *column) bytes() uint64 { return c.narrow.bytes() + c.wide.bytes() }

// maxStack is how many frames a record keeps, as
// runtime.MemProfileRecord.Stack0 does.
const maxStack = len(runtime.MemProfileRecord{}.Stack0)

// chunkSize is how many frames a chunk of copied stacks holds.
const chunkSize = 4096

// Stack returns the id of the stack pcs (leaf first; its first 32 frames,
// up to the first zero), adding it, with a copy of its frames, if it is
// new.
func (t *Table) Stack(pcs []uintptr) uint32 {
	return t.stack(trim(pcs), false)
}

// PCs returns the frames of stack id, none for a nil Table. They are the
// Table's: not to be changed.
func (t *Table) PCs(id uint32) []uintptr {
	if t == nil {
		return nil
	}
	p := t.stackPCs.get(int(id))
	if p == nil {
		return nil
	}
	return unsafe.Slice(p, int(t.stackLen.get(int(id))))
}

// Stacks is the number of distinct stacks.
func (t *Table) Stacks() int { return t.stackPCs.len() }

// size is record i's allocation size.
func (t *Table) size(i int) int64 { return t.sizes[t.recSize.get(i)] }

// stackOf is record i's stack.
func (t *Table) stackOf(i int) uint32 { return t.recStack.get(i) }

// trim cuts pcs as runtime.MemProfileRecord.Stack does: 32 frames at
// most, up to the first zero.
func trim(pcs []uintptr) []uintptr {
	if len(pcs) > maxStack {
		pcs = pcs[:maxStack]
	}
	for i, pc := range pcs {
		if pc == 0 {
			return pcs[:i]
		}
	}
	return pcs
}

func hashStack(pcs []uintptr) uint64 {
	h := uint64(len(pcs))*0x9e3779b97f4a7c15 + 1
	for _, pc := range pcs {
		h ^= uint64(pc)
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	return h
}

func equalPCs(a, b []uintptr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stack finds or adds the trimmed stack pcs; keep says pcs never changes
// and may be kept as it is.
func (t *Table) stack(pcs []uintptr, keep bool) uint32 {
	if 4*(t.stackPCs.len()+1) > 3*len(t.index) {
		t.rehash()
	}
	mask := uint64(len(t.index) - 1)
	for i := hashStack(pcs) & mask; ; i = (i + 1) & mask {
		slot := t.index[i]
		if slot == 0 {
			id := uint32(t.stackPCs.len())
			if !keep {
				pcs = t.copyPCs(pcs)
			}
			var p *uintptr
			if len(pcs) > 0 {
				p = &pcs[0]
			}
			t.stackPCs.append(p)
			t.stackLen.append(uint8(len(pcs)))
			t.firstRec.append(-1)
			t.index[i] = id + 1
			return id
		}
		if equalPCs(t.PCs(slot-1), pcs) {
			return slot - 1
		}
	}
}

// rehash makes the index twice as large, or large enough for the stacks
// to fill half of it.
func (t *Table) rehash() {
	n := 1024
	for n < 2*(t.stackPCs.len()+1) || n <= len(t.index) {
		n *= 2
	}
	t.index = make([]uint32, n)
	mask := uint64(n - 1)
	for id := 0; id < t.stackPCs.len(); id++ {
		i := hashStack(t.PCs(uint32(id))) & mask
		for t.index[i] != 0 {
			i = (i + 1) & mask
		}
		t.index[i] = uint32(id) + 1
	}
}

// copyPCs copies pcs into the Table's chunks.
func (t *Table) copyPCs(pcs []uintptr) []uintptr {
	if len(pcs) == 0 {
		return nil
	}
	if len(pcs) > chunkSize {
		return append([]uintptr(nil), pcs...) // never: stacks are trimmed to 32 frames
	}
	if cap(t.chunk)-len(t.chunk) < len(pcs) {
		t.chunk = make([]uintptr, 0, chunkSize)
		t.chunks++
	}
	start := len(t.chunk)
	t.chunk = append(t.chunk, pcs...)
	return t.chunk[start:len(t.chunk):len(t.chunk)]
}

// Record returns the id of the record of stack pcs and objects of size
// bytes, adding it if it is new. With keep, pcs never changes (the
// runtime's own copy of a stack, say) and the Table may keep it rather
// than copy it.
func (t *Table) Record(pcs []uintptr, size int64, keep bool) uint32 {
	sid := t.stack(trim(pcs), keep)
	si, ok := t.sizeIndex[size]
	if !ok {
		if t.sizeIndex == nil {
			t.sizeIndex = make(map[int64]uint32)
		}
		si = uint32(len(t.sizes))
		t.sizes = append(t.sizes, size)
		t.sizeIndex[size] = si
	}
	last := int32(-1)
	for r := t.firstRec.get(int(sid)); r >= 0; r = t.recNext.get(int(r)) {
		if t.recSize.get(int(r)) == si {
			return uint32(r)
		}
		last = r
	}
	id := int32(t.recStack.len())
	t.recStack.append(sid)
	t.recSize.append(si)
	t.recNext.append(-1)
	if last < 0 {
		t.firstRec.set(int(sid), id)
	} else {
		t.recNext.set(int(last), id)
	}
	return uint32(id)
}

// Records is the number of distinct records.
func (t *Table) Records() int { return t.recStack.len() }

// Begin returns a snapshot to fill, all counts zero (Counts.Add): one
// the Accountant no longer needs. The snapshot read before it no longer
// has its allocations.
func (t *Table) Begin() *Counts {
	var c *Counts
	for i, b := range t.bufs {
		if b == nil {
			b = &Counts{t: t}
			t.bufs[i] = b
		}
		if b != t.held[0] && b != t.held[1] {
			c = b
			break
		}
	}
	n := t.recStack.len()
	c.frees.reset(n, t.wide)
	t.allocs.reset(n, t.wide)
	return c
}

// Widen makes every count 64-bit: Counts.Add failed on a count that does
// not fit in 32 bits. The counts filled since Begin are kept.
func (t *Table) Widen() {
	t.wide = true
	t.allocs.widen()
	for _, b := range t.bufs {
		if b != nil {
			b.frees.widen()
		}
	}
}

// Add adds one record's cumulative allocated and freed objects to c, which
// must be the latest snapshot Begin returned. It never allocates (a
// runtime callback may call it while holding the profile's lock), and
// reports false, changing nothing, when rec came after Begin (Grow first)
// or a count does not fit (Widen, then read the snapshot again).
func (c *Counts) Add(rec uint32, allocObjects, freeObjects uint64) bool {
	i := int(rec)
	if !c.t.allocs.fits(i, allocObjects) || !c.frees.fits(i, freeObjects) {
		return false
	}
	c.t.allocs.add(i, allocObjects)
	c.frees.add(i, freeObjects)
	return true
}

// Grow makes room in c, the latest snapshot Begin returned, for the
// records added since.
func (c *Counts) Grow() {
	n := c.t.recStack.len()
	c.frees.grow(n)
	c.t.allocs.grow(n)
}

func (c *Counts) len() int { return c.frees.len() }

// free is record i's freed objects, 0 for none or a nil snapshot.
func (c *Counts) free(i int) int64 {
	if c == nil {
		return 0
	}
	return c.frees.get(i)
}

// Bytes is the memory the Table holds, in bytes: its stacks, records and
// snapshot buffers (not the stacks it keeps without copying).
func (t *Table) Bytes() uint64 {
	const word = bits.UintSize / 8
	n := t.stackPCs.bytes() + t.stackLen.bytes() + t.firstRec.bytes() + uint64(cap(t.index))*4
	n += uint64(t.chunks) * chunkSize * word
	n += t.recStack.bytes() + t.recSize.bytes() + t.recNext.bytes()
	// A map entry takes about twice its key and value.
	n += uint64(cap(t.sizes))*8 + uint64(len(t.sizeIndex))*2*12
	n += t.allocs.bytes()
	for _, b := range t.bufs {
		if b != nil {
			n += b.frees.bytes()
		}
	}
	return n
}
