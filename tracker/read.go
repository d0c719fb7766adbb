package tracker

import (
	"os"
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/procfs"
	"github.com/gofil/gofil/peak"
)

const (
	mCycles = iota
	mForced
	mHeap
	mMapped
	mReleased
	mAllocs
	mFrees
	mLive
	mPauses
	nMetrics
)

// source is what the tracker reads of the runtime and the process, and the
// one thing it asks of the runtime: a GC cycle. runtimeSource is the real
// one; the tests give a simulation of the runtime's publication rules.
type source interface {
	// read fills r's figures, all but r.at.
	read(r *peak.Memory)
	// snapshot copies the heap profile consistently: the GC count must be
	// the same before and after the copy, or the copy mixes two cycles.
	snapshot() (peak.Snapshot, bool)
	// startGC starts one GC cycle the way an allocation does and waits
	// until its mark has terminated; false if none started.
	startGC(from uint32) bool
	// rate is the sampling rate in force (runtime.MemProfileRate), which
	// the program may change.
	rate() int
	// gcFigures fills f with what the GC pacer worked from at the last
	// mark.
	gcFigures(f *gcFigures)
	// gcPercent is GOGC as the program set it, −1 for off.
	gcPercent() int64
}

// markReader is a source that keeps a reading taken while the last GC
// startGC started was marking.
type markReader interface {
	marking() (peak.Memory, time.Time, bool)
}

func (s *runtimeSource) marking() (peak.Memory, time.Time, bool) {
	return s.mark, s.markAt, s.mark.Marking
}

// read fills r with the current memory figures.
func (t *tracker) read(r *peak.Memory) {
	t.src.read(r)
	r.At = t.since(t.start)
}

// snapshot copies the heap profile, see source.
func (t *tracker) snapshot() (peak.Snapshot, bool) {
	snap, ok := t.src.snapshot()
	if ok {
		t.snapshots++
	}
	return snap, ok
}

// runtimeSource reads runtime/metrics, runtime.MemProfile and
// /proc/self/statm.
type runtimeSource struct {
	samples   []metrics.Sample
	pacer     []metrics.Sample
	gcSamples []metrics.Sample
	cycles    [1]metrics.Sample
	gogc      [1]metrics.Sample
	// mark is a reading startGC took while the GC it started marked, at
	// markAt.
	mark     peak.Memory
	markAt   time.Time
	statm    *ownfd.File
	statmBuf []byte
	pagesize uint64
	records  []runtime.MemProfileRecord
	// buckets reads the profile into the accountant's table, when the
	// runtime allows (bucketsSupported); nil, runtime.MemProfile.
	buckets *bucketReader
}

func newRuntimeSource() *runtimeSource {
	s := &runtimeSource{pagesize: uint64(os.Getpagesize()), statmBuf: make([]byte, 256)}
	s.samples = make([]metrics.Sample, nMetrics)
	s.samples[mCycles].Name = "/gc/cycles/total:gc-cycles"
	s.samples[mForced].Name = "/gc/cycles/forced:gc-cycles"
	s.samples[mHeap].Name = "/memory/classes/heap/objects:bytes"
	s.samples[mMapped].Name = "/memory/classes/total:bytes"
	s.samples[mReleased].Name = "/memory/classes/heap/released:bytes"
	s.samples[mAllocs].Name = "/gc/heap/allocs:bytes"
	s.samples[mFrees].Name = "/gc/heap/frees:bytes"
	s.samples[mLive].Name = "/gc/heap/live:bytes"
	s.samples[mPauses].Name = "/sched/pauses/total/gc:seconds"
	s.pacer = newGCSamples()
	s.gcSamples = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/sched/pauses/total/gc:seconds"}}
	s.cycles[0].Name = "/gc/cycles/total:gc-cycles"
	s.gogc[0].Name = "/gc/gogc:percent"
	if f, err := ownfd.Open("/proc/self/statm", syscall.O_RDONLY, 0); err == nil {
		s.statm = f
	}
	return s
}

func (s *runtimeSource) read(r *peak.Memory) {
	// metrics.Read is not atomic: a GC that ends while it runs can give
	// the GC count before it with the live heap it marked, and the exact
	// heap at that GC's mark would be computed from a figure of the next.
	// The count read again after must be the same.
	for try := 0; try < 10; try++ {
		metrics.Read(s.samples)
		metrics.Read(s.cycles[:])
		if value(s.cycles[0]) == value(s.samples[mCycles]) {
			break
		}
	}
	r.Cycles = uint32(value(s.samples[mCycles]))
	r.ForcedCycles = uint32(value(s.samples[mForced]))
	r.Heap = value(s.samples[mHeap])
	r.GoMapped = value(s.samples[mMapped])
	r.GoReleased = value(s.samples[mReleased])
	r.Allocs = value(s.samples[mAllocs])
	r.Frees = value(s.samples[mFrees])
	r.Live = value(s.samples[mLive])
	if n := histCount(s.samples[mPauses]); n >= 0 {
		r.Marking = uint64(n) == 2*uint64(r.Cycles)+1
	}
	r.RSS, r.RSSAnon = s.readRSS()
}

// useTable makes s read the profile into tab, the accountant's table,
// when the runtime allows.
func (s *runtimeSource) useTable(tab *peak.Table) {
	if bucketsSupported {
		s.buckets = newBucketReader(tab)
	}
}

func (s *runtimeSource) snapshot() (peak.Snapshot, bool) {
	c := s.cycles[:]
	for try := 0; s.buckets != nil && try < 10; try++ {
		metrics.Read(c)
		before := value(c[0])
		counts, ok := s.buckets.read()
		if !ok {
			if s.buckets.failed() {
				warn("the runtime's heap profile is not laid out as this Go release's was (tracker/buckets.go); reading it through runtime.MemProfile, which costs more memory")
				s.buckets = nil
			}
			continue
		}
		metrics.Read(c)
		if value(c[0]) != before {
			continue
		}
		s.buckets.commit(counts)
		return peak.Snapshot{Cycle: uint32(before), Counts: counts}, true
	}
	if s.buckets != nil {
		return peak.Snapshot{}, false
	}
	for try := 0; try < 10; try++ {
		metrics.Read(c)
		before := value(c[0])
		n, ok := runtime.MemProfile(s.records, true)
		if !ok {
			s.records = make([]runtime.MemProfileRecord, n+n/4+64)
			continue
		}
		metrics.Read(c)
		if value(c[0]) != before {
			continue
		}
		return peak.Snapshot{Cycle: uint32(before), Records: s.records[:n]}, true
	}
	return peak.Snapshot{}, false
}

func (s *runtimeSource) rate() int { return runtime.MemProfileRate }

func (s *runtimeSource) gcPercent() int64 {
	metrics.Read(s.gogc[:])
	return int64(value(s.gogc[0]))
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// readRSS returns the resident set size and its anonymous part (resident
// minus file-backed and shared pages) from /proc/self/statm, in bytes.
func (s *runtimeSource) readRSS() (rss, anon uint64) {
	if s.statm == nil {
		return 0, 0
	}
	n, err := s.statm.ReadAt(s.statmBuf, 0)
	if n == 0 && err != nil {
		return 0, 0
	}
	resident, shared, ok := procfs.Statm(s.statmBuf[:n])
	if !ok {
		return 0, 0
	}
	rss = resident * s.pagesize
	if resident > shared {
		anon = (resident - shared) * s.pagesize
	}
	return rss, anon
}

// histCount is the number of events in a histogram sample, −1 if the
// runtime does not have the metric.
func histCount(s metrics.Sample) int64 {
	if s.Value.Kind() != metrics.KindFloat64Histogram {
		return -1
	}
	var n int64
	for _, c := range s.Value.Float64Histogram().Counts {
		n += int64(c)
	}
	return n
}
