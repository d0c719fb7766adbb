package tracker

import (
	"time"

	"github.com/gofil/gofil/internal/memsource"
	"github.com/gofil/gofil/peak"
)

// source is what the tracker reads of the runtime and the process, and the
// one thing it asks of the runtime: a GC cycle. memsource.Runtime is the
// real one; the tests give a simulation of the runtime's publication rules.
type source interface {
	// Read fills r's figures, all but r.At.
	Read(r *peak.Memory)
	// Snapshot copies the heap profile consistently: the GC count must be
	// the same before and after the copy, or the copy mixes two cycles.
	Snapshot() (peak.Snapshot, bool)
	// StartGC starts one GC cycle the way an allocation does and waits
	// until its mark has terminated; false if none started.
	StartGC(from uint32) bool
	// Rate is the sampling rate in force (runtime.MemProfileRate), which
	// the program may change.
	Rate() int
	// GCFigures fills f with what the GC pacer worked from at the last
	// mark.
	GCFigures(f *memsource.GCFigures)
	// GCPercent is GOGC as the program set it, −1 for off.
	GCPercent() int64
}

// markReader is a source that keeps a reading taken while the last GC
// startGC started was marking.
type markReader interface {
	Marking() (peak.Memory, time.Time, bool)
}

// read fills r with the current memory figures.
func (t *tracker) read(r *peak.Memory) {
	t.src.Read(r)
	r.At = t.since(t.start)
}

// snapshot copies the heap profile, see source.
func (t *tracker) snapshot() (peak.Snapshot, bool) {
	snap, ok := t.src.Snapshot()
	if ok {
		t.snapshots++
	}
	return snap, ok
}
