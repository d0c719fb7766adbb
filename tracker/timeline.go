package tracker

import (
	"strconv"
	"time"
)

// timelineWindow is how much time one timeline line covers; each line holds
// the largest values seen in its window, so no peak falls between lines.
const timelineWindow = 20 * time.Millisecond

// timelineAdd folds r into the current timeline window and writes the
// window out when it is over.
func (t *tracker) timelineAdd(r reading) {
	w := &t.window
	if r.heap > w.heap {
		w.heap = r.heap
	}
	if r.rss > w.rss {
		w.rss = r.rss
		w.rssAnon = r.rssAnon
	}
	if r.mapped > w.mapped {
		w.mapped = r.mapped
		w.released = r.released
	}
	w.cycles = r.cycles
	if r.at < t.windowEnd {
		return
	}
	t.flushWindow(r)
}

func (t *tracker) flushWindow(r reading) {
	w := t.window
	line := make([]byte, 0, 96)
	line = strconv.AppendInt(line, int64(r.at/time.Millisecond), 10)
	for _, v := range []uint64{w.heap, w.rss, w.mapped, w.released, uint64(w.cycles), w.rssAnon} {
		line = append(line, '\t')
		line = strconv.AppendUint(line, v, 10)
	}
	line = append(line, '\n')
	t.timeline.Write(line)
	t.window = r
	t.windowEnd = r.at + timelineWindow
}
