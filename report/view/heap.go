package view

import (
	"fmt"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/summary"
)

// HeapFigure is the Go heap at the peak as every output says it, decided
// here once: which figure is shown, whether it is exact or an upper bound,
// and the runtime's figure in words.
type HeapFigure struct {
	// Bytes is the figure shown: the runtime's exact one when known, else
	// the sampled one with gofil's own part, which either counts.
	Bytes int64
	// Sampled is the sampled attribution's total, gofil's own part left
	// out: what the allocation sites add up to.
	Sampled int64
	// Exact says Bytes is the runtime's exact figure.
	Exact bool
	// AtMost says the figures are upper bounds: the peak fell among GC
	// cycles the tracker did not see one by one.
	AtMost bool
	// Runtime is the runtime's figure in words: "352.9 MiB", "unknown", or
	// for an upper bound "300.0 MiB to 352.9 MiB", "at most 352.9 MiB",
	// "at least 300.0 MiB" (a reading among the unseen cycles, when there
	// is one, is the least the heap was).
	Runtime string
	// Own is said beside the figure of gofil's own part of it:
	// "of which gofil's own: 4.2 MiB", or "" when the samples hold none.
	Own string
	// OwnSampled is the sampled total with gofil's own part.
	OwnSampled int64
}

// PeakHeap is the Go heap at the peak p as the page, the timeline and the
// text on stderr say it.
func PeakHeap(p *summary.PeakInfo) HeapFigure {
	f := HeapFigure{
		Bytes: p.HeapBytes + p.TrackerBytes, Sampled: p.HeapBytes, OwnSampled: p.HeapBytes + p.TrackerBytes,
		Exact: p.HeapBytesExact > 0, AtMost: p.Approximate, Runtime: "unknown", Own: OwnText(p),
	}
	if f.Exact {
		f.Bytes = int64(p.HeapBytesExact)
		f.Runtime = units.Bytes(int64(p.HeapBytesExact))
	}
	if f.AtMost {
		switch lower := units.Bytes(int64(p.LowerBoundBytes)); {
		case p.LowerBoundBytes > 0 && f.Exact:
			f.Runtime = lower + " to " + f.Runtime
		case f.Exact:
			f.Runtime = "at most " + f.Runtime
		case p.LowerBoundBytes > 0:
			f.Runtime = "at least " + lower
		}
	}
	return f
}

// Shown is Bytes in words, "at most " before it for an upper bound.
func (f HeapFigure) Shown() string { return f.qualifier() + units.Bytes(f.Bytes) }

// SampledShown is Sampled in words, "at most " before it for an upper
// bound.
func (f HeapFigure) SampledShown() string { return f.qualifier() + units.Bytes(f.Sampled) }

func (f HeapFigure) qualifier() string {
	if f.AtMost {
		return "at most "
	}
	return ""
}

// RuntimeWithOwn is Runtime with gofil's own part said beside the figure
// that counts it: the runtime's, or, when that is not known, the sampled
// total.
func (f HeapFigure) RuntimeWithOwn() string {
	switch {
	case f.Own != "" && f.Exact:
		return f.Runtime + ", " + f.Own
	case f.Own != "":
		return f.Runtime + fmt.Sprintf("; sampled %s, %s", units.Bytes(f.OwnSampled), f.Own)
	}
	return f.Runtime
}

// OwnText is what the page and stderr say beside the Go heap at the peak
// of gofil's own part of it (TrackerBytes): "of which gofil's own: 4.2 MiB",
// or "" when the samples hold none.
func OwnText(p *summary.PeakInfo) string {
	if p == nil || p.TrackerBytes <= 0 {
		return ""
	}
	return "of which gofil's own: " + units.Bytes(p.TrackerBytes)
}
