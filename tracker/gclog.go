package tracker

import (
	"runtime/metrics"
	"strconv"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// gcFigures are what the GC pacer worked from at the last mark, read when
// the tracker sees a new cycle: gofil replays the pacer from them under
// other GOGC and GOMEMLIMIT settings.
type gcFigures struct {
	goal    uint64 // the heap goal set at the last mark
	stacks  uint64 // stack bytes the last GC scanned
	globals uint64 // global bytes the last GC scanned
	free    uint64 // free heap memory not returned to the OS
	gogc    int64  // GOGC in force, −1 for off
	limit   uint64 // GOMEMLIMIT in force, math.MaxInt64 when none
}

const (
	gGoal = iota
	gStacks
	gGlobals
	gFree
	gGOGC
	gLimit
	nGCMetrics
)

func newGCSamples() []metrics.Sample {
	s := make([]metrics.Sample, nGCMetrics)
	s[gGoal].Name = "/gc/heap/goal:bytes"
	s[gStacks].Name = "/gc/scan/stack:bytes"
	s[gGlobals].Name = "/gc/scan/globals:bytes"
	s[gFree].Name = "/memory/classes/heap/free:bytes"
	s[gGOGC].Name = "/gc/gogc:percent"
	s[gLimit].Name = "/gc/gomemlimit:bytes"
	return s
}

func (s *runtimeSource) gcFigures(f *gcFigures) {
	metrics.Read(s.pacer)
	f.goal = value(s.pacer[gGoal])
	f.stacks = value(s.pacer[gStacks])
	f.globals = value(s.pacer[gGlobals])
	f.free = value(s.pacer[gFree])
	// SetGCPercent(-1) reads back as the uint64 of −1.
	f.gogc = int64(value(s.pacer[gGOGC]))
	f.limit = value(s.pacer[gLimit])
}

// gcLog is raw/gc.tsv, a line per GC cycle seen (raw.GCLogHead). Its size
// is bounded: after gcLogEvery lines, only every second cycle seen is
// written, after as many more every fourth, and so on. The start, the end
// and the cycles the program forced are always written: the replay keeps
// those where they were.
type gcLog struct {
	f      *ownfd.File
	stride int
	seen   int
	lines  int
	line   []byte
}

// gcLogEvery is how many lines are written at each stride.
const gcLogEvery = 8192

func openGCLog(dir string) (*gcLog, error) {
	f, err := createFile(dir, raw.GCLogFile, raw.GCLogHead)
	if err != nil {
		return nil, err
	}
	return &gcLog{f: f, stride: 1, line: make([]byte, 0, 160)}, nil
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
	var f gcFigures
	t.src.gcFigures(&f)
	// What the runtime holds from the OS beyond the heap's objects and
	// free pages: stacks, its own structures, fragmentation.
	var nonHeap uint64
	if ready := r.GoMapped - r.GoReleased; ready > f.free+r.Heap {
		nonHeap = ready - f.free - r.Heap
	}
	b := append(l.line[:0], kind)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(r.Cycles), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(r.At/1000), 10)
	for _, v := range []uint64{r.Allocs, r.Live, r.Heap, f.goal, f.stacks, f.globals, nonHeap} {
		b = append(b, '\t')
		b = strconv.AppendUint(b, v, 10)
	}
	b = append(b, '\t')
	b = strconv.AppendInt(b, f.gogc, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, f.limit, 10)
	// The tracker's own heap, counted in the runtime's live heap and
	// heap: the replay takes it out.
	b = append(b, '\t')
	b = strconv.AppendUint(b, t.ownBytes(), 10)
	b = append(b, '\n')
	l.line = b
	l.f.Write(b)
	if always {
		return
	}
	l.lines++
	if l.lines >= gcLogEvery {
		l.lines = 0
		l.stride *= 2
	}
}
