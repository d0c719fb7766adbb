package tracker

import (
	"strconv"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/peak"
)

// timelineWindow is how much time one timeline line covers at first; each
// line holds the largest values seen in its window, so no peak falls
// between lines.
const timelineWindow = 20 * time.Millisecond

// timelineEvery bounds the timeline's size: after every timelineEvery
// lines, the window doubles. A run of a day writes about 130,000 lines
// (9 MB), of a week 180,000: the lines grow with the logarithm of the
// run's length, as the GC log's do.
const timelineEvery = 16384

// timelineMaxShift caps the doubling: a window of 20ms << 16, 22 minutes.
const timelineMaxShift = 16

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
		w.Classes = r.Classes
	}
	w.Cycles = r.Cycles
	if r.At < t.windowEnd {
		return
	}
	t.flushWindow(r)
}

// timelineFlushEvery bounds how long a timeline line waits in memory
// before it is written: lines are written together, as the GC log's are
// (heldLines). A write per window was about a quarter of a percent of a
// program's CPU time. A process killed by a signal it cannot catch loses
// what was held; an emergency dump, the end and going quiet write it
// first (flushHeld).
const timelineFlushEvery = 200 * time.Millisecond

// timelineHeldMax bounds the lines held; timelineLineMax bounds a line's
// size (10 fields of at most 20 digits and their tabs).
const (
	timelineHeldMax = 4 << 10
	timelineLineMax = 256
)

// newTimeline holds the lines of the timeline file f.
func newTimeline(f *ownfd.File) heldLines {
	return newHeldLines(f, timelineFlushEvery, timelineHeldMax, timelineLineMax)
}

func (t *tracker) flushWindow(r peak.Memory) {
	w := t.window
	c := w.Classes
	line := t.timeline.buffer(r.At)
	line = strconv.AppendInt(line, int64(r.At/time.Millisecond), 10)
	for _, v := range [...]uint64{w.Heap, w.RSS, w.GoMapped, w.GoReleased, uint64(w.Cycles), w.RSSAnon,
		c.HeapFree + c.HeapUnused, c.HeapStacks + c.OSStacks, c.Metadata + c.Profiling} {
		line = append(line, '\t')
		line = strconv.AppendUint(line, v, 10)
	}
	line = append(line, '\n')
	t.timeline.hold(line, r.At, false)
	t.window = r
	t.timelineLines++
	shift := t.timelineLines / timelineEvery
	if shift > timelineMaxShift {
		shift = timelineMaxShift
	}
	t.windowEnd = r.At + timelineWindow<<shift
}
