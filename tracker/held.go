package tracker

import (
	"time"

	"github.com/gofil/gofil/internal/ownfd"
)

// heldLines are the lines of a file the tracker holds in memory and
// writes together: once the first has waited every, or once they fill max
// bytes. A write costs the program some tens of microseconds in the kernel
// (the file's times are updated too), and ownfd's check before it. Made
// with room for max bytes and one line of at most lineMax, the buffer
// never grows.
type heldLines struct {
	f     *ownfd.File
	b     []byte
	since time.Duration // the time of the reading of the first line held
	every time.Duration
	max   int
}

func newHeldLines(f *ownfd.File, every time.Duration, max, lineMax int) heldLines {
	return heldLines{f: f, b: make([]byte, 0, max+lineMax), every: every, max: max}
}

// buffer returns the lines held, to append a line of the reading at at to.
func (h *heldLines) buffer(at time.Duration) []byte {
	if len(h.b) == 0 {
		h.since = at
	}
	return h.b
}

// hold keeps b, the lines held with one more appended, and writes them
// now, when they fill max, or once the first has waited every by at.
func (h *heldLines) hold(b []byte, at time.Duration, now bool) {
	h.b = b
	if now || len(b) >= h.max || h.due(at) {
		h.flush()
	}
}

// due reports whether lines are held and the first has waited every by at.
func (h *heldLines) due(at time.Duration) bool {
	return len(h.b) > 0 && at-h.since >= h.every
}

// flush writes the lines held.
func (h *heldLines) flush() {
	if len(h.b) == 0 {
		return
	}
	h.f.Write(h.b)
	h.b = h.b[:0]
}
