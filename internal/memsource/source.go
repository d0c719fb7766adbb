// Package memsource reads the process's memory as the Go runtime and the
// kernel report it: runtime/metrics, the heap profile's buckets and
// /proc/self/statm. It is the tracker's one source of figures in a real
// program, and the one place that asks the runtime for a GC cycle.
package memsource

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"syscall"
	"time"
	"unsafe"

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
	mHeapFree
	mHeapUnused
	mHeapStacks
	mOSStacks
	mMcacheFree
	mMcacheInuse
	mMspanFree
	mMspanInuse
	mMetaOther
	mOther
	mBuckets
	nMetrics
)

// metricNames are the runtime/metrics Read reads, by index.
var metricNames = [nMetrics]string{
	mCycles:      "/gc/cycles/total:gc-cycles",
	mForced:      "/gc/cycles/forced:gc-cycles",
	mHeap:        "/memory/classes/heap/objects:bytes",
	mMapped:      "/memory/classes/total:bytes",
	mReleased:    "/memory/classes/heap/released:bytes",
	mAllocs:      "/gc/heap/allocs:bytes",
	mFrees:       "/gc/heap/frees:bytes",
	mLive:        "/gc/heap/live:bytes",
	mPauses:      "/sched/pauses/total/gc:seconds",
	mHeapFree:    "/memory/classes/heap/free:bytes",
	mHeapUnused:  "/memory/classes/heap/unused:bytes",
	mHeapStacks:  "/memory/classes/heap/stacks:bytes",
	mOSStacks:    "/memory/classes/os-stacks:bytes",
	mMcacheFree:  "/memory/classes/metadata/mcache/free:bytes",
	mMcacheInuse: "/memory/classes/metadata/mcache/inuse:bytes",
	mMspanFree:   "/memory/classes/metadata/mspan/free:bytes",
	mMspanInuse:  "/memory/classes/metadata/mspan/inuse:bytes",
	mMetaOther:   "/memory/classes/metadata/other:bytes",
	mOther:       "/memory/classes/other:bytes",
	mBuckets:     "/memory/classes/profiling/buckets:bytes",
}

// Marking is a reading StartGC took while the GC it started was marking,
// and when; false if the last StartGC took none. Its Own is what StartGC
// allocated to start that GC: garbage in the heap at its mark.
func (s *Runtime) Marking() (peak.Memory, time.Time, bool) {
	m := s.mark
	m.Own = s.kicked
	return m, s.markAt, m.Marking
}

// Runtime reads runtime/metrics, the heap profile and /proc/self/statm.
// Its methods are called from one goroutine at a time.
type Runtime struct {
	samples   []metrics.Sample
	pacer     []metrics.Sample
	gcSamples []metrics.Sample
	cycles    [1]metrics.Sample
	gogc      [1]metrics.Sample
	// mark is a reading startGC took while the GC it started marked, at
	// markAt.
	mark   peak.Memory
	markAt time.Time
	// kicked is what the last StartGC allocated to start its GC.
	kicked   uint64
	statm    *ownfd.File
	statmBuf []byte
	pagesize uint64
	records  []runtime.MemProfileRecord
	// buckets reads the profile into the accountant's table, when the
	// runtime allows (bucketsSupported); nil, runtime.MemProfile.
	buckets *bucketReader
	// resident counts the heap's resident pages (Resident).
	resident residentReader
	// Warn, if set, is told once when the runtime's buckets cannot be read
	// and the profile is read through runtime.MemProfile instead.
	Warn func(format string, args ...interface{})
}

// New returns a Runtime reading this process.
func New() *Runtime {
	s := &Runtime{pagesize: uint64(os.Getpagesize()), statmBuf: make([]byte, 256)}
	s.samples = make([]metrics.Sample, nMetrics)
	for i, name := range metricNames {
		s.samples[i].Name = name
	}
	s.pacer = newGCSamples()
	s.gcSamples = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/sched/pauses/total/gc:seconds"}}
	s.cycles[0].Name = "/gc/cycles/total:gc-cycles"
	s.gogc[0].Name = "/gc/gogc:percent"
	if f, err := ownfd.Open("/proc/self/statm", syscall.O_RDONLY, 0); err == nil {
		s.statm = f
	}
	return s
}

// Read fills r's figures, all but r.At.
func (s *Runtime) Read(r *peak.Memory) {
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
	v := func(i int) uint64 { return value(s.samples[i]) }
	r.Classes = peak.Classes{
		HeapFree:   v(mHeapFree),
		HeapUnused: v(mHeapUnused),
		HeapStacks: v(mHeapStacks),
		OSStacks:   v(mOSStacks),
		Metadata:   v(mMcacheFree) + v(mMcacheInuse) + v(mMspanFree) + v(mMspanInuse) + v(mMetaOther) + v(mOther),
		Profiling:  v(mBuckets),
	}
	if n := histCount(s.samples[mPauses]); n >= 0 {
		r.Marking = uint64(n) == 2*uint64(r.Cycles)+1
	}
	r.RSS, r.RSSAnon = s.readRSS()
}

// UseTable makes s read the profile into tab, the accountant's table,
// when the runtime allows.
func (s *Runtime) UseTable(tab *peak.Table) {
	if bucketsSupported {
		s.buckets = newBucketReader(tab)
	}
}

// Snapshot copies the heap profile consistently: the GC count must be the
// same before and after the copy, or the copy mixes two cycles.
func (s *Runtime) Snapshot() (peak.Snapshot, bool) {
	c := s.cycles[:]
	for try := 0; s.buckets != nil && try < 10; try++ {
		metrics.Read(c)
		before := value(c[0])
		counts, ok := s.buckets.read()
		if !ok {
			if s.buckets.failed() {
				if s.Warn != nil {
					s.Warn("the runtime's heap profile is not laid out as this Go release's was (internal/memsource/buckets.go); reading it through runtime.MemProfile, which costs more memory")
				}
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

// Rate is the sampling rate in force, which the program may change.
func (s *Runtime) Rate() int { return runtime.MemProfileRate }

// GCPercent is GOGC as the program set it, −1 for off.
func (s *Runtime) GCPercent() int64 {
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
func (s *Runtime) readRSS() (rss, anon uint64) {
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

// kickBytes is the size of StartGC's allocations, a whole number of pages:
// a large object, which always checks the GC trigger.
const kickBytes = 72 << 10

// StartGC starts one GC cycle the way an allocation does, by lowering the GC
// target for a moment, and waits until its mark has terminated; false if
// none started.
func (s *Runtime) StartGC(from uint32) bool {
	c := s.gcSamples
	s.mark = peak.Memory{}
	s.kicked = 0
	old := debug.SetGCPercent(1)
	defer debug.SetGCPercent(old)
	metrics.Read(c)
	pauses := histCount(c[1])
	var quiet time.Time // no kicks until then
	kicks := 0
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		metrics.Read(c)
		if uint32(value(c[0])) != from {
			return true
		}
		n := histCount(c[1])
		if n > pauses {
			// A stop of the world for the GC is over: most likely it has
			// started, and allocating more would only add garbage to its
			// heap. If no cycle ends soon, it was another pause: kick again.
			pauses = n
			quiet = time.Now().Add(20 * time.Millisecond)
			// A reading while it marks holds exactly what the sweeps
			// before its mark freed (reading.Marking).
			s.Read(&s.mark)
			s.markAt = time.Now()
		}
		// While GC from+1 marks (its first stop of the world is over, its
		// second not yet), a kick would only add to the heap at its mark:
		// the peak's own figure. A mark can outlast the quiet time on a
		// loaded machine, and kicks made then were counted at the peak
		// (37.8 MB of them in one emergency dump's mark).
		marking := n >= 0 && uint64(n) == 2*uint64(from)+1
		limit := 4096
		if pauses < 0 {
			limit = 64 // without the metric, as many kicks as any start needs
		}
		if kicks < limit && !marking && time.Now().After(quiet) {
			// Large allocations always check the GC trigger; this one is
			// larger than the 64 KiB the compiler may place on the stack,
			// so it is made on the heap.
			b := make([]byte, kickBytes)
			runtime.KeepAlive(b)
			kicks++
			s.kicked += kickBytes
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
	return false
}

// Bytes is about the memory s holds in the heap: its record buffers.
func (s *Runtime) Bytes() uint64 {
	n := uint64(cap(s.records))*uint64(unsafe.Sizeof(runtime.MemProfileRecord{})) + uint64(cap(s.resident.buf)+cap(s.resident.vec)) + uint64(cap(s.resident.ranges))*uint64(unsafe.Sizeof(procfs.Range{}))
	if b := s.buckets; b != nil {
		n += uint64(len(b.recs))*recsPage*4 + uint64(len(b.pending))*pendingPage*uint64(unsafe.Sizeof(pendingBucket{}))
	}
	return n
}
