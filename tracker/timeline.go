package tracker

import (
	"strconv"
	"time"

	"github.com/gofil/gofil/peak"
)

// timelineWindow is how much time one timeline line covers; each line holds
// the largest values seen in its window, so no peak falls between lines.
const timelineWindow = 20 * time.Millisecond

// timelineAdd folds r into the current timeline window and writes the
// window out when it is over.
func (t *tracker) timelineAdd(r peak.Memory) {
	w := &t.window
	if r.Heap > w.Heap {
		w.Heap = r.Heap
	}
	if r.RSS > w.RSS {
		w.RSS = r.RSS
		w.RSSAnon = r.RSSAnon
	}
	if r.GoMapped > w.GoMapped {
		w.GoMapped = r.GoMapped
		w.GoReleased = r.GoReleased
	}
	w.Cycles = r.Cycles
	if r.At < t.windowEnd {
		return
	}
	t.flushWindow(r)
}

func (t *tracker) flushWindow(r peak.Memory) {
	w := t.window
	line := make([]byte, 0, 96)
	line = strconv.AppendInt(line, int64(r.At/time.Millisecond), 10)
	for _, v := range []uint64{w.Heap, w.RSS, w.GoMapped, w.GoReleased, uint64(w.Cycles), w.RSSAnon} {
		line = append(line, '\t')
		line = strconv.AppendUint(line, v, 10)
	}
	line = append(line, '\n')
	t.timeline.Write(line)
	t.window = r
	t.windowEnd = r.At + timelineWindow
}
