package memsource

import "runtime/metrics"

// GCFigures are what the GC pacer worked from at the last mark, read when
// the tracker sees a new cycle: gofil replays the pacer from them under
// other GOGC and GOMEMLIMIT settings.
type GCFigures struct {
	Goal    uint64 // the heap goal set at the last mark
	Stacks  uint64 // stack bytes the last GC scanned
	Globals uint64 // global bytes the last GC scanned
	Free    uint64 // free heap memory not returned to the OS
	GOGC    int64  // GOGC in force, −1 for off
	Limit   uint64 // GOMEMLIMIT in force, math.MaxInt64 when none
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

// GCFigures fills f with what the GC pacer worked from at the last mark.
func (s *Runtime) GCFigures(f *GCFigures) {
	metrics.Read(s.pacer)
	f.Goal = value(s.pacer[gGoal])
	f.Stacks = value(s.pacer[gStacks])
	f.Globals = value(s.pacer[gGlobals])
	f.Free = value(s.pacer[gFree])
	// SetGCPercent(-1) reads back as the uint64 of −1.
	f.GOGC = int64(value(s.pacer[gGOGC]))
	f.Limit = value(s.pacer[gLimit])
}
