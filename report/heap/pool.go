package heap

import "encoding/binary"

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
	ids    map[Frame]int32    // a number for each distinct frame
	frames []Frame            // the frame of each number
	stacks map[string][]Frame // by the numbers of their frames, 4 bytes each
	chunk  []Frame            // room for the frames of stacks to come
	key    []byte
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{ids: map[Frame]int32{}, stacks: map[string][]Frame{}}
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
	p.key = p.key[:0]
	for _, id := range ids {
		p.key = binary.LittleEndian.AppendUint32(p.key, uint32(id))
	}
	if s, ok := p.stacks[string(p.key)]; ok {
		return s
	}
	if len(p.chunk) < len(ids) {
		p.chunk = make([]Frame, max(poolChunk, len(ids)))
	}
	s := p.chunk[:len(ids):len(ids)]
	p.chunk = p.chunk[len(ids):]
	for i, id := range ids {
		s[i] = p.frames[id]
	}
	p.stacks[string(p.key)] = s
	return s
}
