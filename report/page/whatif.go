package page

import (
	"fmt"
	"math"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/summary"
)

// whatIfRow is one line of the page's table of other settings.
type whatIfRow struct {
	Setting, Peak, PeakChange, Cycles, CyclesChange string
	Actual                                          bool
}

// whatIfRows are the page's lines for list, and the sentence that holds
// the model's prediction for the run's own settings against the run.
func whatIfRows(list []summary.WhatIf) (rows []whatIfRow, check string) {
	var base *summary.WhatIf
	for i := range list {
		if list[i].Actual {
			base = &list[i]
		}
	}
	if base == nil {
		return nil, ""
	}
	change := func(v, b float64) string {
		if b == 0 {
			return "—"
		}
		if math.Abs(v/b-1) < 0.005 {
			return "same"
		}
		return fmt.Sprintf("%+.0f%%", 100*(v/b-1))
	}
	for _, w := range list {
		rows = append(rows, whatIfRow{
			Setting: whatIfSettingText(w), Actual: w.Actual,
			Peak:         units.Bytes(int64(w.PeakHeapBytes)),
			PeakChange:   change(float64(w.PeakHeapBytes), float64(base.PeakHeapBytes)),
			Cycles:       fmt.Sprintf("%d", w.GCCycles),
			CyclesChange: change(float64(w.GCCycles), float64(base.GCCycles)),
		})
	}
	if base.MeasuredPeakHeapBytes != nil && base.MeasuredGCCycles != nil {
		check = fmt.Sprintf("Under this run's own settings it predicts %s and %d GC cycles; the run had %s and %d.",
			units.Bytes(int64(base.PeakHeapBytes)), base.GCCycles, units.Bytes(int64(*base.MeasuredPeakHeapBytes)), *base.MeasuredGCCycles)
	}
	return rows, check
}

// whatIfSettingText is how the page names an entry's settings.
func whatIfSettingText(w summary.WhatIf) string { return w.Settings().String() }
