package heap

import "slices"

// Pool holds the frames of cleaned stacks once for every heap that takes
// them from it: a run's heaps (at the peak, at each moment, at each point
// of its history) hold mostly the same stacks, and a stack's frames are
// most of what a heap weighs. Heaps share a pooled stack's frames, which
// none may change.
//
//	pool := heap.NewPool()
//	peak := heap.NewCleaner(p.Frames, pkgs, pool).Heap(p)
//	mark := heap.NewCleaner(moments.Frames, pkgs, pool).Heap(q)
type Pool struct {
	ids    map[Frame]int32 // a number for each distinct frame
	frames []Frame         // the frame of each number
	// stacks are the pooled stacks; first holds, for a hash of a stack's
	// numbers, the index of the first stack of that hash, plus one, and
	// next the index of the next, plus one (0: none).
	stacks [][]Frame
	first  map[uint64]int32
	next   []int32
	chunk  []Frame // room for the frames of stacks to come
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{ids: map[Frame]int32{}, first: map[uint64]int32{}}
}

// poolChunk is how many frames a Pool allocates at once.
const poolChunk = 1 << 16

// id is f's number in the pool.
func (p *Pool) id(f Frame) int32 {
	id, ok := p.ids[f]
	if !ok {
		id = int32(len(p.frames))
		p.ids[f] = id
		p.frames = append(p.frames, f)
	}
	return id
}

// stack returns the frames numbered ids, from the pool; nil for none.
func (p *Pool) stack(ids []int32) []Frame {
	if len(ids) == 0 {
		return nil
	}
	h := uint64(14695981039346656037) // FNV-1a, a number at a time
	for _, id := range ids {
		h = (h ^ uint64(uint32(id))) * 1099511628211
	}
	for i := p.first[h]; i != 0; i = p.next[i-1] {
		if s := p.stacks[i-1]; len(s) == len(ids) && p.same(s, ids) {
			return s
		}
	}
	if len(p.chunk) < len(ids) {
		p.chunk = make([]Frame, max(poolChunk, len(ids)))
	}
	s := p.chunk[:len(ids):len(ids)]
	p.chunk = p.chunk[len(ids):]
	for i, id := range ids {
		s[i] = p.frames[id]
	}
	p.stacks = append(p.stacks, s)
	p.next = append(p.next, p.first[h])
	p.first[h] = int32(len(p.stacks))
	return s
}

// same reports whether frames are the frames numbered ids.
func (p *Pool) same(frames []Frame, ids []int32) bool {
	return slices.EqualFunc(frames, ids, func(f Frame, id int32) bool { return f == p.frames[id] })
}
