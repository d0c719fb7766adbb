package summary

import (
	"fmt"
	"strings"

	"github.com/gofil/gofil/internal/pacer"
	"github.com/gofil/gofil/internal/units"
)

// WhatIf is one entry of summary.json's whatif: the peak Go heap and the
// number of GC cycles the pacer's replay (internal/pacer) predicts for one
// setting, from the GC cycles of this run.
type WhatIf struct {
	// GOGC is null for off.
	GOGC *int64 `json:"gogc"`
	// MemoryLimitBytes is GOMEMLIMIT, 0 for none.
	MemoryLimitBytes uint64 `json:"memory_limit_bytes"`
	PeakHeapBytes    uint64 `json:"peak_heap_bytes"`
	GCCycles         int    `json:"gc_cycles"`
	// Actual marks the settings the run had. Its prediction is held
	// against the run's own figures, MeasuredPeakHeapBytes (the largest
	// heap at a mark, or at the end) and MeasuredGCCycles (those the
	// runtime and the program ran, not the tracker's).
	Actual                bool    `json:"actual,omitempty"`
	MeasuredPeakHeapBytes *uint64 `json:"measured_peak_heap_bytes,omitempty"`
	MeasuredGCCycles      *int    `json:"measured_gc_cycles,omitempty"`
}

// Settings are the GC settings w predicts for.
func (w WhatIf) Settings() pacer.Settings {
	s := pacer.Settings{GOGC: -1, Limit: w.MemoryLimitBytes}
	if w.GOGC != nil {
		s.GOGC = *w.GOGC
	}
	return s
}

// whatIfGOGC are the GOGC values every report predicts for.
var whatIfGOGC = []int64{25, 50, 100, 200, 400}

// whatIf predicts the peak and the GC cycles under the run's own settings,
// GOGC 25 to 400 (with the run's memory limit) and a memory limit near the
// live peak (with the run's GOGC); advice says, in one line, what the
// setting that saves a fifth of the peak for the fewest GC cycles buys, ""
// when none does.
func whatIf(log *pacer.Log) (list []WhatIf, advice string) {
	actual, ok := log.Actual()
	if !ok {
		return nil, ""
	}
	measuredPeak, measuredCycles, measured := log.Measured()
	base, ok := log.Replay(actual)
	if !ok {
		return nil, ""
	}
	var candidates []pacer.Settings
	if actual.GOGC >= 0 {
		// A program that turned its GC off did so for its speed: only
		// a memory limit, against its live heap, applies to it.
		for _, g := range whatIfGOGC {
			candidates = append(candidates, pacer.Settings{GOGC: g, Limit: actual.Limit})
		}
	}
	if lim := limitNearLive(log, base.PeakHeap); lim > 0 && (actual.Limit == 0 || lim < actual.Limit) {
		candidates = append(candidates, pacer.Settings{GOGC: actual.GOGC, Limit: lim})
	}
	seen := false
	for _, c := range candidates {
		seen = seen || c == actual
	}
	if !seen {
		candidates = append([]pacer.Settings{actual}, candidates...)
	}
	// A forced GC that found less live than the mark before may follow
	// data held until the program let go of it: advice must then hold
	// under that reading too.
	var heldBase *pacer.Prediction
	if log.HeldDiffers() {
		if hb, ok := log.ReplayHeld(actual); ok {
			heldBase = &hb
		}
	}
	var best *pacer.Prediction
	for _, c := range candidates {
		p := base
		if c != actual {
			if p, ok = log.Replay(c); !ok {
				continue
			}
		}
		w := WhatIf{MemoryLimitBytes: c.Limit, PeakHeapBytes: p.PeakHeap, GCCycles: p.Cycles}
		if c.GOGC >= 0 {
			g := c.GOGC
			w.GOGC = &g
		}
		if c == actual {
			w.Actual = true
			if measured {
				w.MeasuredPeakHeapBytes, w.MeasuredGCCycles = &measuredPeak, &measuredCycles
			}
		} else if better(p, best, base) && holdsUp(log, c, heldBase) {
			p := p
			best = &p
		}
		list = append(list, w)
	}
	if best != nil && measured && measuredCycles >= minAdviceCycles && clearSaving(*best, base) {
		advice = adviceLine(*best, base, actual)
	}
	return list, advice
}

// minAdviceCycles is the fewest GC cycles a run must have had for its
// replay to advise a setting: with fewer marks, the live heap between them,
// which the replay draws in a straight line, is too little known (a job
// whose data grows until it ends, with two cycles, hides most of its live
// heap from the replay).
const minAdviceCycles = 6

// whatIfNote says why the predictions are weak, "" when they are not.
func whatIfNote(list []WhatIf) string {
	for _, w := range list {
		if w.Actual && w.MeasuredGCCycles != nil && *w.MeasuredGCCycles < minAdviceCycles {
			return fmt.Sprintf("This run had %d GC cycles: the live heap between its marks, which the replay draws in a straight line, is too little known for the predictions to be relied on, and none is advised.", *w.MeasuredGCCycles)
		}
	}
	return ""
}

// clearSaving reports whether p saves a fifth of the peak by a margin,
// adviceMargin more. Identical runs differ a little in when their GCs
// fall and in their live heap, and so in what the replay predicts: a
// saving near the threshold would be advised in one run and not in the
// next. The margin asks for a saving that stands clear of the threshold
// by more than that spread.
func clearSaving(p, base pacer.Prediction) bool {
	if base.PeakHeap == 0 {
		return false
	}
	return 1-float64(p.PeakHeap)/float64(base.PeakHeap) >= 0.2+adviceMargin
}

// adviceMargin is how much more than a fifth of the peak a setting must
// save to be advised: five points, above the spread of the replay's
// savings between identical runs.
const adviceMargin = 0.05

// better reports whether p is worth advising over best (nil: none yet):
// it saves a fifth of the peak at most four times the GC cycles, and
// costs fewer cycles than best, or as many and saves more.
func better(p pacer.Prediction, best *pacer.Prediction, base pacer.Prediction) bool {
	if float64(p.PeakHeap) > 0.8*float64(base.PeakHeap) || (base.Cycles > 0 && p.Cycles > 4*base.Cycles) {
		return false
	}
	return best == nil || p.Cycles < best.Cycles || p.Cycles == best.Cycles && p.PeakHeap < best.PeakHeap
}

// holdsUp reports whether setting c saves a fifth of the peak at most
// four times the GC cycles also when the data before a forced GC is taken
// as held until then (pacer.ReplayHeld), against heldBase, the run's own
// settings so replayed; true when that reading does not differ (nil).
func holdsUp(log *pacer.Log, c pacer.Settings, heldBase *pacer.Prediction) bool {
	if heldBase == nil {
		return true
	}
	p, ok := log.ReplayHeld(c)
	return ok && better(p, nil, *heldBase)
}

// limitNearLive is a memory limit a quarter above the largest live heap
// the run's marks found, or halfway from it to the peak heap when that is
// nearer, with the runtime's memory beyond the heap at that mark, rounded
// up to a MiB; 0 if the log has no mark.
func limitNearLive(log *pacer.Log, peak uint64) uint64 {
	live, nonHeap := log.LargestLive()
	if live == 0 {
		return 0
	}
	above := live / 4
	if peak > live && (peak-live)/2 < above {
		above = (peak - live) / 2
	}
	return roundLimit(live + above + nonHeap)
}

// roundLimit rounds a memory limit up to two significant figures in MiB
// (93 MiB, 400 MiB, 1300 MiB): identical runs, whose live heaps differ by a
// little, are then advised the same limit, but where the two straddle a
// step.
func roundLimit(n uint64) uint64 {
	mib := (n + 1<<20 - 1) >> 20
	step := uint64(1)
	for mib/step >= 100 {
		step *= 10
	}
	return (mib + step - 1) / step * step << 20
}

// adviceLine says what setting p buys against the run's own, base.
func adviceLine(p, base pacer.Prediction, actual pacer.Settings) string {
	var changed []string
	if p.GOGC != actual.GOGC {
		changed = append(changed, p.GOGCText())
	}
	if p.Limit != actual.Limit {
		changed = append(changed, p.LimitText())
	}
	saving := 100 * (1 - float64(p.PeakHeap)/float64(base.PeakHeap))
	cost := "no GC cycle more"
	switch {
	case base.Cycles > 0 && p.Cycles != base.Cycles:
		cost = fmt.Sprintf("about %.1f× the GC cycles", float64(p.Cycles)/float64(base.Cycles))
	case base.Cycles == 0 && p.Cycles > 0:
		cost = fmt.Sprintf("%d GC cycles where the run had none", p.Cycles)
	}
	return fmt.Sprintf("%s: peak Go heap about −%.0f%% (%s), %s", strings.Join(changed, " "), saving, units.Bytes(int64(p.PeakHeap)), cost)
}
