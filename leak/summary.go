package leak

import (
	"math"
	"time"
)

// SchemaVersion is the version of the layout of [Summary] (gofil watch's
// leaks.json). Fields are only ever added within a version.
const SchemaVersion = 1

// Summary is leaks.json: what gofil watch found. Sizes are bytes, times
// seconds since the first snapshot. Lists are never null.
type Summary struct {
	Schema int `json:"schema"`
	// URL is the heap profile endpoint that was watched.
	URL string `json:"url"`
	// Started is the time of the first snapshot.
	Started time.Time `json:"started"`
	// Snapshots counts the heap profiles taken; Points those the analysis
	// kept, all of them up to 1024, every other one beyond; DurationSeconds
	// is the time from the first to the last.
	Snapshots       int     `json:"snapshots"`
	Points          int     `json:"points"`
	DurationSeconds float64 `json:"duration_seconds"`
	// Ended says why the watch stopped: "duration", "interrupted" or
	// "error"; Error holds the error.
	Ended string `json:"ended"`
	Error string `json:"error,omitempty"`
	// HeapBytesFirst and HeapBytesLast are the sampled heap in use at the
	// first and last snapshot.
	HeapBytesFirst int64 `json:"heap_bytes_first"`
	HeapBytesLast  int64 `json:"heap_bytes_last"`
	// MinGrowthBytes is the growth a suspect needed to count as
	// significant.
	MinGrowthBytes int64 `json:"min_growth_bytes"`
	// Verdict is "leak suspects", "no leak suspects", or "too short to
	// judge" when there were fewer than MinSnapshots snapshots: then
	// there are no suspects, whatever grew. See [Result.Verdict].
	Verdict string `json:"verdict"`
	// MinSnapshots is how many snapshots a suspect needs.
	MinSnapshots int `json:"min_snapshots"`
	// Note says, for a watch too short to judge, how long to watch.
	Note string `json:"note,omitempty"`
	// MemProfileRate is the sampling period of the heap profiles in
	// bytes (their Period: the server's runtime.MemProfileRate), from the
	// last snapshot that gave one; absent when none did.
	MemProfileRate int64 `json:"mem_profile_rate,omitempty"`
	// ResolvableGrowthBytes is the least growth of a site of small
	// objects that stands three standard errors above the sampling
	// noise: 9 × MemProfileRate (see [ResolvableGrowth]). Absent when
	// MemProfileRate is, or when it is 1 (every allocation recorded).
	ResolvableGrowthBytes int64 `json:"resolvable_growth_bytes,omitempty"`
	// Suspects are the allocation sites that look like leaks, largest
	// growth first.
	Suspects []Site `json:"suspects"`
	// Churn are sites that allocated much during the watch and kept little
	// of it, most allocated first. They are not suspects.
	Churn []Site `json:"churn"`
	// Heap is the heap in use at each snapshot.
	Heap []HeapPoint `json:"heap"`
	// RSS is the process's resident memory at each snapshot, with --pid.
	RSS []RSSPoint `json:"rss,omitempty"`
}

// HeapPoint is the heap in use at one snapshot.
type HeapPoint struct {
	AtSeconds    float64 `json:"at_seconds"`
	InuseBytes   int64   `json:"inuse_bytes"`
	InuseObjects int64   `json:"inuse_objects"`
}

// RSSPoint is one reading of a process's resident memory.
type RSSPoint struct {
	AtSeconds float64 `json:"at_seconds"`
	RSSBytes  uint64  `json:"rss_bytes"`
}

// Limits on the lists of a [Summary].
const (
	maxSuspects = 100
	maxChurn    = 10
)

// Summary builds leaks.json's content from r: at most 100 suspects and
// the 10 sites that churned most. The caller fills in Ended, Error, RSS and
// Note.
//
//	s := res.Summary("http://127.0.0.1:6060/debug/pprof/heap?gc=1")
//	s.Ended = "duration"
//	data, err := json.MarshalIndent(s, "", "  ")
func (r *Result) Summary(url string) *Summary {
	s := &Summary{
		Schema:                SchemaVersion,
		URL:                   url,
		Snapshots:             r.Taken,
		Points:                len(r.Times),
		DurationSeconds:       round(r.Duration().Seconds(), 3),
		MinGrowthBytes:        r.MinGrowth,
		Verdict:               r.Verdict(),
		MinSnapshots:          r.MinSnapshots,
		MemProfileRate:        r.Period,
		ResolvableGrowthBytes: ResolvableGrowth(r.Period),
		Suspects:              rounded(r.Suspects, maxSuspects),
		Churn:                 rounded(r.Churn, maxChurn),
		Heap:                  make([]HeapPoint, len(r.Heap)),
	}
	if n := len(r.Heap); n > 0 {
		s.Started = r.Times[0]
		s.HeapBytesFirst, s.HeapBytesLast = r.Heap[0], r.Heap[n-1]
	}
	for i := range r.Heap {
		s.Heap[i] = HeapPoint{AtSeconds: round(r.Offsets[i].Seconds(), 3), InuseBytes: r.Heap[i], InuseObjects: r.HeapObjects[i]}
	}
	return s
}

func rounded(sites []Site, limit int) []Site {
	out := make([]Site, 0, min(len(sites), limit))
	for _, s := range sites {
		if len(out) == limit {
			break
		}
		s.BytesPerSecond = round(s.BytesPerSecond, 1)
		s.Steadiness = round(s.Steadiness, 4)
		s.Monotonicity = round(s.Monotonicity, 4)
		s.MaxStepShare = round(s.MaxStepShare, 4)
		s.R2 = round(s.R2, 4)
		out = append(out, s)
	}
	return out
}

func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}
