// Package leak finds memory leaks in a running Go program from a series of
// its heap profiles, such as those `GET /debug/pprof/heap?gc=1` returns.
//
// A leak is memory that stays in use and keeps growing. For every
// allocation stack and every allocation site (the innermost frame outside
// the runtime) the package follows the bytes in use from snapshot to
// snapshot and measures:
//
//   - growth: in-use bytes (and objects) at the last snapshot minus the
//     first;
//   - rate: the least-squares slope of in-use bytes over time, in bytes per
//     second;
//   - steadiness: the fraction of consecutive snapshots in which in-use
//     bytes rose; monotonicity: the growth divided by the sum of all rises
//     (1 when in-use never fell, near 0 for a sawtooth); the largest single
//     rise as a share of all rises (1 for a one-off jump); and R², how well
//     a straight line fits the series;
//   - allocated: the bytes allocated during the window (from the
//     cumulative alloc_space), which tells churn (much allocated, little
//     kept) from a leak (what is allocated is kept).
//
// # Suspects
//
// A site is a leak suspect when all of these hold (defaults in brackets;
// see [Option]):
//
//   - there are at least [DefaultMinSnapshots] snapshots: with fewer, a
//     single jump fits a line as well as a leak does (a one-off step
//     between the 2nd and 3rd of 4 snapshots has R² = 0.8);
//   - its growth and its slope are positive;
//   - its growth is significant: at least [DefaultMinGrowthBytes] (1 MiB)
//     or at least [DefaultMinGrowthShare] (1%) of the heap in use at the
//     last snapshot, whichever is smaller, but never less than
//     [MinGrowthFloor] (256 KiB): a heap profile at Go's default rate
//     takes one sample per 512 KiB allocated, so smaller growth is
//     mostly sampling noise;
//   - it grew steadily: R² ≥ [DefaultMinR2] (0.8); or, for growth that is
//     not a straight line (a leak that speeds up, or one that stops when
//     the load stops), it grew by many small rises that it kept: at least
//     3 steps rose, no single rise was more than a third of all rises, and
//     monotonicity is at least 0.5. A share of rising steps does not
//     suffice: a sawtooth that rises four steps and falls one rises 80% of
//     the time;
//   - it is not churn: it kept at least [ChurnRatio] (5%) of what it
//     allocated during the window. A site that allocates much and keeps
//     almost none of it is listed in [Result.Churn] and is never a suspect,
//     whatever its in-use series looks like. When the profiles carry no
//     allocation counts (profiles holding only inuse_space) this test is
//     skipped.
//
// Suspects are ranked by growth, largest first. A series of fewer than
// [DefaultMinSnapshots] snapshots has none: its [Result.Verdict] is
// [VerdictTooShort].
//
// Heap profiles are sampled: the sampling period ([Result.Period], the
// server's runtime.MemProfileRate) bounds the growth that can be told from
// noise. A site of small objects must grow by [ResolvableGrowth] of it
// (4.5 MiB at the default 512 KiB) to stand three standard errors clear;
// a significant suspect that grew by less may be noise.
//
// Stacks that pass through runtime/pprof or net/http/pprof are the
// profiling's own work (writing the very profiles being analysed) and are
// left out.
//
// Usage:
//
//	s := leak.NewSeries()
//	for each profile p fetched from the server {
//		snap, err := leak.FromProfile(p)
//		if err != nil {
//			return err
//		}
//		s.Add(snap)
//	}
//	res := s.Analyze()
//	for _, site := range res.Suspects {
//		fmt.Println(site.Function, site.GrowthBytes, site.BytesPerSecond)
//	}
package leak

import (
	"github.com/gofil/gofil/internal/heapprof"
	"github.com/gofil/gofil/internal/raw"
	"strconv"
	"strings"
	"time"
)

// Defaults of the thresholds a suspect must pass.
const (
	DefaultMinSnapshots   = 5
	DefaultMinGrowthBytes = 1 << 20
	DefaultMinGrowthShare = 0.01
	// MinGrowthFloor is the least growth that is significant however small
	// the heap, unless [MinGrowth] asks for less.
	MinGrowthFloor = 256 << 10
	DefaultMinR2   = 0.8
	// ChurnRatio is the share of the bytes allocated during the window a
	// site must still hold as growth not to count as churn.
	ChurnRatio = 0.05
	// The alternative to R²: growth made of at least minRises rises, none
	// more than maxStepShare of them all, mostly kept.
	minRises        = 3
	maxStepShare    = 1.0 / 3
	minMonotonicity = 0.5
)

// Frame is one stack frame: gofil's one frame type, the agent's.
type Frame = raw.Frame

// Stack is one allocation stack in one heap profile.
type Stack struct {
	// Frames lists the frames root first (outermost caller first).
	Frames []Frame
	// InuseBytes and InuseObjects are what the stack holds at the moment
	// of the profile.
	InuseBytes, InuseObjects int64
	// AllocBytes and AllocObjects count everything the stack allocated
	// since the program started; 0 when the profile does not say.
	AllocBytes, AllocObjects int64
}

// Snapshot is one heap profile.
type Snapshot struct {
	Time time.Time
	// Stacks may list the same frames more than once: the runtime keeps
	// one record per stack and allocation size. The analysis adds them.
	Stacks []Stack
	// HasAlloc is set when the profile carries alloc_space.
	HasAlloc bool
	// Period is the profile's sampling period in bytes: the program's
	// runtime.MemProfileRate when the profile was written; 0 when the
	// profile does not say. See [ResolvableGrowth].
	Period int64
}

// Option changes a threshold of the analysis.
type Option func(*config)

type config struct {
	minSnapshots int
	minBytes     int64
	minShare     float64
	minR2        float64
}

// MinSnapshots sets how many snapshots the analysis needs before it names
// any suspect. Default: [DefaultMinSnapshots].
func MinSnapshots(n int) Option { return func(c *config) { c.minSnapshots = n } }

// MinGrowth sets the significance threshold: a suspect must grow by at
// least bytes, or by at least share of the heap at the last snapshot
// (but not less than [MinGrowthFloor]), whichever is smaller. Defaults:
// [DefaultMinGrowthBytes], [DefaultMinGrowthShare].
//
//	leak.NewSeries(leak.MinGrowth(16<<20, 0.05))
func MinGrowth(bytes int64, share float64) Option {
	return func(c *config) { c.minBytes, c.minShare = bytes, share }
}

// MinR2 sets the R² of the linear fit above which growth counts as steady.
// Default: [DefaultMinR2].
func MinR2(r2 float64) Option { return func(c *config) { c.minR2 = r2 } }

// Series accumulates heap profiles taken one after the other from the same
// process. It keeps, per stack, only what it held at the first and the
// latest snapshot, and per allocation site the in-use bytes at every
// snapshot.
type Series struct {
	cfg      config
	times    []time.Time
	heap     []int64
	heapObjs []int64
	hasAlloc bool
	period   int64 // of the latest snapshot that gave one
	stacks   map[string]*stackState
	sites    map[siteKey]*siteState
	taken    int // snapshots added, thinned or not
}

type stackState struct {
	frames      []Frame
	site        siteKey
	first, last counts
}

type counts struct {
	bytes, objects, alloc int64
}

type siteKey struct {
	fn, file string
	line     int
}

type siteState struct {
	series []int64 // in-use bytes per snapshot
}

// NewSeries returns an empty series.
func NewSeries(opts ...Option) *Series {
	cfg := config{
		minSnapshots: DefaultMinSnapshots,
		minBytes:     DefaultMinGrowthBytes,
		minShare:     DefaultMinGrowthShare,
		minR2:        DefaultMinR2,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &Series{cfg: cfg, hasAlloc: true, stacks: map[string]*stackState{}, sites: map[siteKey]*siteState{}}
}

// Len is the number of snapshots added.
func (s *Series) Len() int { return len(s.times) }

// Taken counts every snapshot added, those thinning dropped included.
func (s *Series) Taken() int { return s.taken }

// Add appends a snapshot. Snapshots must come in the order they were taken.
func (s *Series) Add(snap Snapshot) {
	s.taken++
	i := len(s.times)
	s.times = append(s.times, snap.Time)
	s.hasAlloc = s.hasAlloc && snap.HasAlloc
	if snap.Period > 0 {
		s.period = snap.Period
	}
	var heap, objs int64
	siteBytes := map[siteKey]int64{}
	seen := map[string]bool{}
	for _, st := range snap.Stacks {
		if profilers(st.Frames) {
			continue
		}
		k := stackKey(st.Frames)
		ss := s.stacks[k]
		if ss == nil {
			ss = &stackState{frames: st.Frames, site: siteOf(st.Frames)}
			s.stacks[k] = ss
		}
		c := counts{st.InuseBytes, st.InuseObjects, st.AllocBytes}
		if seen[k] { // the same stack twice in one profile (objects of different sizes)
			c.bytes += ss.last.bytes
			c.objects += ss.last.objects
			c.alloc += ss.last.alloc
		}
		seen[k] = true
		if i == 0 {
			ss.first = c
		}
		ss.last = c
		heap += st.InuseBytes
		objs += st.InuseObjects
		siteBytes[ss.site] += st.InuseBytes
	}
	for k, ss := range s.stacks {
		if !seen[k] {
			// Gone from this profile: nothing in use, and what it
			// allocated is no longer known, so keep the last count.
			ss.last.bytes, ss.last.objects = 0, 0
		}
	}
	for k, b := range siteBytes {
		site := s.sites[k]
		if site == nil {
			site = &siteState{series: make([]int64, i, i+1)}
			s.sites[k] = site
		}
		site.series = append(site.series, b)
	}
	for _, site := range s.sites {
		if len(site.series) == i {
			site.series = append(site.series, 0)
		}
	}
	s.heap = append(s.heap, heap)
	s.heapObjs = append(s.heapObjs, objs)
	if len(s.times) >= maxPoints {
		s.times = thin(s.times)
		s.heap = thin(s.heap)
		s.heapObjs = thin(s.heapObjs)
		for _, site := range s.sites {
			site.series = thin(site.series)
		}
	}
}

// maxPoints bounds a series, so that a watch of days holds no more than
// this many points per site: when it is reached, every other snapshot is
// dropped (the first and the last stay), and the points left are spread
// over the whole watch.
const maxPoints = 1024

// thin keeps every other element of v, the first and the last included.
func thin[T any](v []T) []T {
	n := len(v)
	out := v[:0]
	for i := 0; i < n; i += 2 {
		out = append(out, v[i])
	}
	if n > 2 && (n-1)%2 != 0 {
		out = append(out, v[n-1])
	}
	return out
}

// Analyze analyses the snapshots in order. It is a shorthand for a
// [Series] with the snapshots added one by one.
//
//	res := leak.Analyze([]leak.Snapshot{base, now})
//	for _, st := range res.Stacks { ... }
func Analyze(snaps []Snapshot, opts ...Option) *Result {
	s := NewSeries(opts...)
	for _, snap := range snaps {
		s.Add(snap)
	}
	return s.Analyze()
}

// stackKey identifies a stack by its frames' function, file and line.
func stackKey(frames []Frame) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(f.Func)
		b.WriteByte(0)
		b.WriteString(f.File)
		b.WriteByte(0)
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte('\n')
	}
	return b.String()
}

// siteOf is the allocation site of a stack (heapprof.Site).
func siteOf(frames []Frame) siteKey {
	i := heapprof.Site(frames)
	if i < 0 {
		return siteKey{fn: "(unknown)"}
	}
	f := frames[i]
	return siteKey{f.Func, f.File, f.Line}
}

// profilers reports a stack of the profiler's own: writing a profile.
func profilers(frames []Frame) bool {
	for _, f := range frames {
		if strings.HasPrefix(f.Func, "runtime/pprof.") || strings.HasPrefix(f.Func, "net/http/pprof.") {
			return true
		}
	}
	return false
}
