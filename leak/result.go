package leak

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Result is the analysis of a series.
type Result struct {
	// Taken counts the snapshots taken; Times holds those the analysis
	// kept (past maxPoints, every other one is dropped).
	Taken int
	// Times are the snapshots' times, and Offsets the same as durations
	// since the first.
	Times   []time.Time
	Offsets []time.Duration
	// Heap and HeapObjects are the total in use at each snapshot.
	Heap, HeapObjects []int64
	// MinGrowth is the significance threshold that was applied, in bytes.
	MinGrowth int64
	// HasAlloc is set when every snapshot carried allocation counts, so
	// that AllocatedBytes and Churn mean something.
	HasAlloc bool
	// Period is the sampling period of the latest snapshot that gave one
	// (runtime.MemProfileRate, in bytes); 0 when none did.
	Period int64
	// MinSnapshots is how many snapshots a suspect needs: with fewer, the
	// series is too short to judge (see [Result.Verdict]).
	MinSnapshots int
	// Sites holds every allocation site seen, largest growth first.
	Sites []Site
	// Suspects are the sites that look like leaks, largest growth first.
	Suspects []Site
	// Churn are the sites that allocated at least MinGrowth during the
	// window and kept less than ChurnRatio of it, most allocated first.
	Churn []Site
	// Stacks holds every stack's change from the first snapshot to the
	// last, largest growth first.
	Stacks []StackGrowth

	cfg config
}

// Duration is the time from the first snapshot to the last.
func (r *Result) Duration() time.Duration {
	if len(r.Offsets) == 0 {
		return 0
	}
	return r.Offsets[len(r.Offsets)-1]
}

// The verdicts of an analysis: leaks.json's "verdict".
const (
	VerdictSuspects   = "leak suspects"
	VerdictNoSuspects = "no leak suspects"
	// VerdictTooShort is a series of fewer than MinSnapshots snapshots,
	// which never has suspects: a leak and a one-off jump look alike.
	VerdictTooShort = "too short to judge"
)

// Verdict says whether r found leak suspects, found none, or had too few
// snapshots to tell: [VerdictSuspects], [VerdictNoSuspects] or
// [VerdictTooShort].
//
//	if res.Verdict() == leak.VerdictTooShort {
//		fmt.Printf("watch for %d snapshots\n", res.MinSnapshots)
//	}
func (r *Result) Verdict() string {
	switch {
	case len(r.Times) < r.MinSnapshots:
		return VerdictTooShort
	case len(r.Suspects) > 0:
		return VerdictSuspects
	}
	return VerdictNoSuspects
}

// Site is an allocation site and how its in-use memory moved. The JSON
// names are those of gofil watch's leaks.json.
type Site struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	// GrowthBytes and GrowthObjects are in use at the last snapshot minus
	// in use at the first.
	GrowthBytes   int64 `json:"growth_bytes"`
	GrowthObjects int64 `json:"growth_objects"`
	// BytesPerSecond is the least-squares slope of in-use bytes over time.
	BytesPerSecond float64 `json:"bytes_per_second"`
	// Steadiness is the fraction of consecutive snapshots in which in-use
	// bytes rose.
	Steadiness float64 `json:"steadiness"`
	// Monotonicity is GrowthBytes divided by the sum of all rises: 1 when
	// in-use never fell; near 0 or negative for a sawtooth or churn.
	Monotonicity float64 `json:"monotonicity"`
	// MaxStepShare is the largest rise from one snapshot to the next as a
	// share of all rises: 1 for a one-off jump, small for gradual growth.
	MaxStepShare float64 `json:"max_step_share"`
	// R2 is the coefficient of determination of the linear fit.
	R2               float64 `json:"r2"`
	InuseBytesFirst  int64   `json:"inuse_bytes_first"`
	InuseBytesLast   int64   `json:"inuse_bytes_last"`
	InuseObjectsLast int64   `json:"inuse_objects_last"`
	// AllocatedBytes is what the site allocated between the first
	// snapshot and the last.
	AllocatedBytes int64 `json:"allocated_bytes"`
	// Series is the in-use bytes at each snapshot.
	Series []int64 `json:"-"`
}

// StackGrowth is one stack's change from the first snapshot to the last.
type StackGrowth struct {
	Frames                          []Frame // root first
	GrowthBytes, GrowthObjects      int64
	InuseBytesFirst, InuseBytesLast int64
	AllocatedBytes                  int64
}

// Analyze analyses the snapshots added so far. It may be called again
// after more are added.
func (s *Series) Analyze() *Result {
	n := len(s.times)
	r := &Result{
		Taken:       max(s.taken, n),
		Times:       append([]time.Time(nil), s.times...),
		Offsets:     make([]time.Duration, n),
		Heap:        append([]int64(nil), s.heap...),
		HeapObjects: append([]int64(nil), s.heapObjs...),
		HasAlloc:    s.hasAlloc && n > 0,
		Period:      s.period,
		// isSuspect wants at least two snapshots whatever the option.
		MinSnapshots: max(s.cfg.minSnapshots, 2),
		Sites:        []Site{},
		Suspects:     []Site{},
		Churn:        []Site{},
		Stacks:       []StackGrowth{},
		cfg:          s.cfg,
	}
	secs := make([]float64, n)
	for i, t := range s.times {
		r.Offsets[i] = t.Sub(s.times[0])
		secs[i] = r.Offsets[i].Seconds()
	}
	if n > 0 {
		share := max(int64(s.cfg.minShare*float64(s.heap[n-1])), MinGrowthFloor)
		r.MinGrowth = min(s.cfg.minBytes, share)
	}

	type siteTotals struct {
		firstObjs, lastObjs, alloc int64
	}
	totals := map[siteKey]*siteTotals{}
	// keys are the stacks' keys, for an order that does not build one
	// for every comparison.
	keys := make([]string, 0, len(s.stacks))
	for k, ss := range s.stacks {
		g := StackGrowth{
			Frames:          ss.frames,
			GrowthBytes:     ss.last.bytes - ss.first.bytes,
			GrowthObjects:   ss.last.objects - ss.first.objects,
			InuseBytesFirst: ss.first.bytes,
			InuseBytesLast:  ss.last.bytes,
			AllocatedBytes:  ss.last.alloc - ss.first.alloc,
		}
		r.Stacks = append(r.Stacks, g)
		keys = append(keys, k)
		t := totals[ss.site]
		if t == nil {
			t = &siteTotals{}
			totals[ss.site] = t
		}
		t.firstObjs += ss.first.objects
		t.lastObjs += ss.last.objects
		t.alloc += g.AllocatedBytes
	}
	sortStacks(r.Stacks, keys)

	for k, st := range s.sites {
		t := totals[k]
		site := Site{
			Function: k.fn, File: k.file, Line: k.line,
			GrowthObjects:    t.lastObjs - t.firstObjs,
			InuseObjectsLast: t.lastObjs,
			AllocatedBytes:   t.alloc,
			Series:           append([]int64(nil), st.series...),
		}
		if n > 0 {
			site.InuseBytesFirst, site.InuseBytesLast = st.series[0], st.series[n-1]
			site.GrowthBytes = site.InuseBytesLast - site.InuseBytesFirst
		}
		fitSeries(&site, secs)
		r.Sites = append(r.Sites, site)
	}
	sort.Slice(r.Sites, func(i, j int) bool { return siteLess(r.Sites[i], r.Sites[j]) })
	for _, site := range r.Sites {
		switch {
		case r.isChurn(site):
			r.Churn = append(r.Churn, site)
		case s.cfg.isSuspect(site, n, r.MinGrowth):
			r.Suspects = append(r.Suspects, site)
		}
	}
	sort.SliceStable(r.Churn, func(i, j int) bool { return r.Churn[i].AllocatedBytes > r.Churn[j].AllocatedBytes })
	return r
}

// isChurn reports a site that allocated a significant amount during the
// window and kept less than ChurnRatio of it.
func (r *Result) isChurn(s Site) bool {
	if !r.HasAlloc || s.AllocatedBytes < r.MinGrowth || s.AllocatedBytes <= 0 {
		return false
	}
	return float64(s.GrowthBytes) < ChurnRatio*float64(s.AllocatedBytes)
}

func (c config) isSuspect(s Site, snapshots int, minGrowth int64) bool {
	if snapshots < c.minSnapshots || snapshots < 2 {
		return false
	}
	if s.GrowthBytes <= 0 || s.BytesPerSecond <= 0 || s.GrowthBytes < minGrowth {
		return false
	}
	if s.R2 >= c.minR2 {
		return true
	}
	rises := int(math.Round(s.Steadiness * float64(snapshots-1)))
	return rises >= minRises && s.MaxStepShare <= maxStepShare && s.Monotonicity >= minMonotonicity
}

// fitSeries fills in the slope, R², steadiness and monotonicity of
// site.Series over the times secs.
func fitSeries(site *Site, secs []float64) {
	y := site.Series
	n := len(y)
	if n < 2 {
		return
	}
	// Work relative to the first value: the series can be large and
	// nearly constant, where sums of squares would lose the variation.
	base := float64(y[0])
	var mt, my float64
	for i := range y {
		mt += secs[i]
		my += float64(y[i]) - base
	}
	mt /= float64(n)
	my /= float64(n)
	var stt, syy, sty float64
	for i := range y {
		dt, dy := secs[i]-mt, float64(y[i])-base-my
		stt += dt * dt
		syy += dy * dy
		sty += dt * dy
	}
	if stt > 0 {
		site.BytesPerSecond = sty / stt
	}
	if stt > 0 && syy > 0 {
		site.R2 = sty * sty / (stt * syy)
	}
	rising := 0
	var up, largest float64
	for i := 1; i < n; i++ {
		if d := float64(y[i] - y[i-1]); d > 0 {
			rising++
			up += d
			largest = max(largest, d)
		}
	}
	site.Steadiness = float64(rising) / float64(n-1)
	if up > 0 {
		site.Monotonicity = float64(site.GrowthBytes) / up
		site.MaxStepShare = largest / up
	}
	for _, v := range []*float64{&site.BytesPerSecond, &site.R2, &site.Steadiness, &site.Monotonicity, &site.MaxStepShare} {
		if math.IsNaN(*v) || math.IsInf(*v, 0) {
			*v = 0
		}
	}
}

func siteLess(a, b Site) bool {
	if a.GrowthBytes != b.GrowthBytes {
		return a.GrowthBytes > b.GrowthBytes
	}
	if a.Function != b.Function {
		return a.Function < b.Function
	}
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Line < b.Line
}

// sortStacks orders stacks, whose keys (stackKey) are keys, by growth,
// largest first, then by key.
func sortStacks(stacks []StackGrowth, keys []string) {
	order := make([]int, len(stacks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := stacks[i], stacks[j]
		if a.GrowthBytes != b.GrowthBytes {
			return cmp.Compare(b.GrowthBytes, a.GrowthBytes)
		}
		return strings.Compare(keys[i], keys[j])
	})
	sorted := make([]StackGrowth, len(stacks))
	for i, o := range order {
		sorted[i] = stacks[o]
	}
	copy(stacks, sorted)
}
