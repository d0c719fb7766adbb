package tracker

import (
	"strconv"

	"github.com/gofil/gofil/internal/memsource"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// gcLog is raw/gc.tsv, a line per GC cycle seen (raw.GCLogHead). Its size
// is bounded: after gcLogEvery lines, only every second cycle seen is
// written, after as many more every fourth, and so on. The start, the end
// and the cycles the program forced are always written: the replay keeps
// those where they were.
//
// Lines are held and written together, at most gcLogFlushEvery after the
// first of them, as the timeline's are: a program whose GC cycles come
// every few hundred microseconds would otherwise cost a write per cycle.
type gcLog struct {
	// figs is filled at each line: a variable of logCycle's own would
	// escape through the source interface, an allocation per GC cycle.
	figs   memsource.GCFigures
	stride int
	seen   int
	lines  int
	// held is the file and its lines not written yet.
	held heldLines
}

// gcLogFlushEvery bounds how long a line waits in gcLog.held: one
// timeline window.
const gcLogFlushEvery = timelineWindow

// gcLogHeldMax bounds the lines held; gcLogLineMax bounds a line's (14
// fields of at most 20 digits and their tabs).
const (
	gcLogHeldMax = 16 << 10
	gcLogLineMax = 512
)

// gcLogEvery is how many lines are written at each stride.
const gcLogEvery = 8192

func openGCLog(dir string) (*gcLog, error) {
	f, err := createFile(dir, raw.GCLogFile, raw.GCLogHead)
	if err != nil {
		return nil, err
	}
	return &gcLog{stride: 1, held: newHeldLines(f, gcLogFlushEvery, gcLogHeldMax, gcLogLineMax)}, nil
}

// flushHeld writes the lines the GC log and the timeline hold: before the
// tracker syncs its files, goes quiet or writes an emergency dump.
func (t *tracker) flushHeld() {
	if t.gcLog != nil {
		t.gcLog.held.flush()
	}
	t.timeline.flush()
}

// flushGCLogIfDue writes the GC log's lines held once the first has waited
// gcLogFlushEvery by the reading r: an observe with no new cycle calls it,
// so that lines do not wait for the next cycle in a program that has
// stopped collecting.
func (t *tracker) flushGCLogIfDue(r peak.Memory) {
	if l := t.gcLog; l != nil && l.held.due(r.At) {
		l.held.flush()
	}
}

// logCycle writes r, a reading taken after a mark or at the start or end,
// with the pacer's figures, as kind (raw.GCLogStart and so on).
func (t *tracker) logCycle(kind byte, r peak.Memory) {
	l := t.gcLog
	if l == nil {
		return
	}
	always := kind == raw.GCLogStart || kind == raw.GCLogEnd || kind == raw.GCLogForced
	if !always {
		l.seen++
		if (l.seen-1)%l.stride != 0 {
			return
		}
	}
	f := &l.figs
	t.src.GCFigures(f)
	// What the runtime holds from the OS beyond the heap's objects and
	// free pages: stacks, its own structures, fragmentation.
	var nonHeap uint64
	if ready := r.GoMapped - r.GoReleased; ready > f.Free+r.Heap {
		nonHeap = ready - f.Free - r.Heap
	}
	b := append(l.held.buffer(r.At), kind)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(r.Cycles), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(r.At/1000), 10)
	for _, v := range []uint64{r.Allocs, r.Live, r.Heap, f.Goal, f.Stacks, f.Globals, nonHeap} {
		b = append(b, '\t')
		b = strconv.AppendUint(b, v, 10)
	}
	b = append(b, '\t')
	b = strconv.AppendInt(b, f.GOGC, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, f.Limit, 10)
	// The tracker's own heap, counted in the runtime's live heap and
	// heap: the replay takes it out. At the mark of a GC the tracker
	// started, what it allocated to start it is its own too.
	own := t.own
	if kind == raw.GCLogTracker {
		own += t.kicked
	}
	b = append(b, '\t')
	b = strconv.AppendUint(b, own, 10)
	b = append(b, '\n')
	l.held.hold(b, r.At, always)
	if always {
		return
	}
	l.lines++
	if l.lines >= gcLogEvery {
		l.lines = 0
		l.stride *= 2
	}
}
