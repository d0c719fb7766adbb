package tracker

import (
	"fmt"
	"os"
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
// startGC started was marking; its Own is what startGC allocated to start
// it.
type markReader interface {
	Marking() (peak.Memory, time.Time, bool)
}

// residentSource is a source that divides the resident set by kind
// (memsource.Runtime.Resident).
type residentSource interface {
	Resident(r *peak.Memory) bool
}

// residentState is the last division of the resident set and what it
// cost: it is read again as the resident set moves, at most a fiftieth of
// the time.
type residentState struct {
	last   peak.Resident
	rss    uint64 // the resident set and the heap when last was read
	heap   uint64
	next   time.Duration
	failed bool // a read failed: it is not tried again
	// best is the reading that held the most memory, heap and outside it:
	// the ledger at the peak is its.
	best peak.Memory
}

// residentShare bounds the time spent dividing the resident set: after a
// read that took d, the next is at least residentShare·d later.
const residentShare = 50

// read fills r with the current memory figures. The division of the
// resident set by kind is read again when the resident set or the heap
// has moved by more than 2% and 1 MiB since it was last read, at most a
// residentShare of the time unless they moved by a tenth or r holds the
// most memory so far; r holds the last one.
func (t *tracker) read(r *peak.Memory) {
	t.src.Read(r)
	r.At = t.since(t.start)
	if t.ownInHeap {
		r.Own = t.own
	}
	rs := &t.resident
	r.Resident = rs.last
	src, ok := t.src.(residentSource)
	best := r.Held() > rs.best.Held()
	switch {
	case !ok || rs.failed:
	case !rs.last.Known():
		t.readResident(src, r)
	case near(r.RSS, rs.rss, 50) && near(r.Heap, rs.heap, 50):
	case best || r.At >= rs.next || !near(r.RSS, rs.rss, 10) || !near(r.Heap, rs.heap, 10):
		// The most memory held so far, or moved by more than a tenth: it
		// is read again even before its time. Each such read is of a
		// process 2% larger than the last, which bounds their cost by
		// about fifty times the last one's.
		t.readResident(src, r)
	}
	if best {
		rs.best = *r
	}
}

// residentNow divides the resident set now, into r, the reading just
// taken, whenever it has moved since it was last divided.
func (t *tracker) residentNow(r *peak.Memory) {
	src, ok := t.src.(residentSource)
	if !ok || t.resident.failed || r.Resident.At == r.At {
		return
	}
	t.readResident(src, r)
	if r.Held() >= t.resident.best.Held() {
		t.resident.best = *r
	}
}

// near reports whether a is within b/part and 1 MiB of b.
func near(a, b, part uint64) bool {
	d := b/part + 1<<20
	return a < b+d && a+d > b
}

// readResident divides the resident set now, into r and the tracker's
// state.
func (t *tracker) readResident(src residentSource, r *peak.Memory) {
	rs := &t.resident
	begin := time.Now()
	if !src.Resident(r) {
		if t.debug {
			fmt.Fprintf(os.Stderr, "gofil-debug: the heap's resident pages could not be counted (/proc/self/maps, mincore): no ledger of the resident set\n")
		}
		rs.failed = true
		return
	}
	r.Resident.At = r.At
	rs.last, rs.rss, rs.heap = r.Resident, r.RSS, r.Heap
	rs.next = r.At + residentShare*time.Since(begin)
}

// snapshot copies the heap profile, see source.
func (t *tracker) snapshot() (peak.Snapshot, bool) {
	snap, ok := t.src.Snapshot()
	if ok {
		t.snapshots++
	}
	return snap, ok
}
