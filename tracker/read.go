package tracker

import (
	"runtime/metrics"
	"time"

	"github.com/gofil/gofil/peak"
)

// reading is one sample of the process's memory.
type reading struct {
	at       time.Duration
	cycles   uint32
	forced   uint32
	heap     uint64
	live     uint64 // what the last GC marked
	mapped   uint64
	released uint64
	rss      uint64
	rssAnon  uint64
	allocs   uint64 // cumulative heap bytes allocated
	frees    uint64 // cumulative heap bytes freed
}

const (
	mCycles = iota
	mForced
	mHeap
	mMapped
	mReleased
	mAllocs
	mFrees
	mLive
	nMetrics
)

// read fills r with the current memory figures.
func (t *Tracker) read(r *reading) {
	metrics.Read(t.samples)
	r.at = time.Since(t.start)
	r.cycles = uint32(value(t.samples[mCycles]))
	r.forced = uint32(value(t.samples[mForced]))
	r.heap = value(t.samples[mHeap])
	r.mapped = value(t.samples[mMapped])
	r.released = value(t.samples[mReleased])
	r.allocs = value(t.samples[mAllocs])
	r.frees = value(t.samples[mFrees])
	r.live = value(t.samples[mLive])
	r.rss, r.rssAnon = t.readRSS()
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// readRSS returns the resident set size and its anonymous part (resident
// minus file-backed and shared pages) from /proc/self/statm, in bytes.
func (t *Tracker) readRSS() (rss, anon uint64) {
	if t.statm == nil {
		return 0, 0
	}
	n, err := t.statm.ReadAt(t.statmBuf, 0)
	if n == 0 && err != nil {
		return 0, 0
	}
	// Fields: size resident shared text lib data dt, in pages.
	var fields [3]uint64
	b := t.statmBuf[:n]
	for i, j := 0, 0; i < len(fields) && j < len(b); i++ {
		for j < len(b) && b[j] == ' ' {
			j++
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			fields[i] = fields[i]*10 + uint64(b[j]-'0')
			j++
		}
	}
	rss = fields[1] * t.pagesize
	if fields[1] > fields[2] {
		anon = (fields[1] - fields[2]) * t.pagesize
	}
	return rss, anon
}

func (r reading) memory() peak.Memory {
	return peak.Memory{
		At: r.at, Heap: r.heap, Live: r.live, Allocs: r.allocs, Frees: r.frees,
		RSS: r.rss, RSSAnon: r.rssAnon, GoMapped: r.mapped, GoReleased: r.released,
	}
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
