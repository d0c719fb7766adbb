package tracker

import (
	"runtime"
	"strconv"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// symbols are the frames of every return address the tracker has written,
// each symbolized once: a return address's frames (inlined calls
// included, leaf first) are consecutive in frames, and spans gives, by
// address, the first and their number (first<<8 | n). Its memory grows
// with the distinct return addresses written, not with the stacks.
type symbols struct {
	spans  map[uintptr]uint64
	frames []raw.Frame
}

// span returns where the frames of pc are, symbolizing it if it is new.
func (s *symbols) span(pc uintptr) (first, n int) {
	if sp, ok := s.spans[pc]; ok {
		return int(sp >> 8), int(sp & 0xff)
	}
	if s.spans == nil {
		s.spans = make(map[uintptr]uint64)
	}
	first = len(s.frames)
	it := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := it.Next()
		name := f.Function
		if name == "" {
			name = "0x" + strconv.FormatUint(uint64(pc), 16)
		}
		s.frames = append(s.frames, raw.Frame{Func: name, File: f.File, Line: f.Line})
		if !more || len(s.frames)-first == 0xff {
			break
		}
	}
	n = len(s.frames) - first
	s.spans[pc] = uint64(first)<<8 | uint64(n)
	return first, n
}

// bytes is about the memory the symbols hold: a map entry takes about
// twice its key and value (their strings are the binary's).
func (s *symbols) bytes() uint64 {
	return uint64(len(s.spans))*2*16 + uint64(cap(s.frames))*40
}

// frameTable numbers the distinct frames of the stacks of one file, as
// the raw files store them: frames holds each once, in the order first
// met.
type frameTable struct {
	t *tracker
	// file is, by index in t.syms.frames, 1 + the frame's index in
	// frames, 0 if not met yet.
	file []int32
	// index finds a frame met at another return address.
	index  map[raw.Frame]int
	frames []raw.Frame
	// scratch is a buffer for the caller's use.
	scratch []int
}

func newFrameTable(t *tracker) *frameTable {
	return &frameTable{t: t, index: make(map[raw.Frame]int), scratch: make([]int, 0, 64)}
}

// appendStack appends to dst the table indexes of the frames of pcs, leaf
// first, inlined calls included.
func (ft *frameTable) appendStack(dst []int, pcs []uintptr) []int {
	syms := &ft.t.syms
	for _, pc := range pcs {
		first, n := syms.span(pc)
		for len(ft.file) < len(syms.frames) {
			ft.file = append(ft.file, 0)
		}
		for g := first; g < first+n; g++ {
			if ft.file[g] == 0 {
				f := syms.frames[g]
				i, ok := ft.index[f]
				if !ok {
					i = len(ft.frames)
					ft.index[f] = i
					ft.frames = append(ft.frames, f)
				}
				ft.file[g] = int32(i) + 1
			}
			dst = append(dst, int(ft.file[g])-1)
		}
	}
	return dst
}

// numberStacks numbers the stacks a file holds, those whose num (by stack
// id) is not 0, in the order of their ids, and symbolizes their frames: num
// becomes 1 + each one's number in the file. It returns the frames, and
// the stacks' frame indexes one at a time, made as they are written.
func numberStacks(t *tracker, num []int32, stacks *peak.Table) ([]raw.Frame, func(yield func([]int))) {
	table := newFrameTable(t)
	n := int32(0)
	for id := range num {
		if num[id] != 0 {
			n++
			num[id] = n
			table.scratch = table.appendStack(table.scratch[:0], stacks.PCs(uint32(id)))
		}
	}
	each := func(yield func([]int)) {
		frames := make([]int, 0, 64)
		for id := range num {
			if num[id] != 0 {
				frames = table.appendStack(frames[:0], stacks.PCs(uint32(id)))
				yield(frames)
			}
		}
	}
	return table.frames, each
}
