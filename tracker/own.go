package tracker

import (
	"unsafe"
)

// heapSource is a source that holds buffers in the heap it reads, the
// tracker's heap: the real runtime's. Its readings carry the tracker's own
// bytes (peak.Memory.Own).
type heapSource interface {
	Bytes() uint64
}

// countOwn counts the tracker's own bytes again (ownBytes), as they grow
// with each accounting.
func (t *tracker) countOwn() {
	t.own = t.ownBytes()
}

// ownBytes is about the memory the tracker holds in the program's heap:
// the accountant's table and buffers, the leak history, the moments, the
// symbols, the lines held for the timeline and the GC log, and the
// source's buffers. It leaves out what a GC will free
// (what writing a file allocated, say), which the heap profile counts at
// the peak (peak.tracker_bytes); the GC log carries it, so that the
// pacer's replay can tell the program's heap from the tracker's.
func (t *tracker) ownBytes() uint64 {
	n := t.acc.Bytes() + t.history.bytes() + t.moments.bytes() + t.syms.bytes() + uint64(cap(t.timeline.b))
	if t.gcLog != nil {
		n += uint64(cap(t.gcLog.held.b))
	}
	if s, ok := t.src.(heapSource); ok {
		n += s.Bytes()
	}
	return n
}

func (h *history) bytes() uint64 {
	n := uint64(cap(h.points))*uint64(unsafe.Sizeof(historyPoint{})) + uint64(cap(h.at))*4
	for _, p := range h.points {
		n += uint64(cap(p.values)) * uint64(unsafe.Sizeof([3]int64{}))
	}
	return n
}

func (m *moments) bytes() uint64 {
	n := uint64(cap(m.list)) * uint64(unsafe.Sizeof(moment{}))
	for _, mo := range m.list {
		n += uint64(cap(mo.values))
	}
	return n
}
