package view

import (
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// Report is what a report says, for every output to render: nothing in it
// is decided by the page or the text on stderr.
//
//	v := view.New(meta, s, run)
//	fmt.Println(v.Headline)
type Report struct {
	// Heap is the Go heap at the peak; nil without a peak.
	Heap *HeapFigure
	// Headline says the peak in one sentence: live data and garbage, and
	// the GC settings that let the garbage be; "" without a peak.
	Headline string
	// Figures are the headline cards.
	Figures []Figure
	// Limit is the memory limit the program ran under, if any: the host's
	// memory is context, not a limit.
	Limit Limit
}

// Limit is a memory limit and where it came from ("" when not known).
type Limit struct {
	Bytes  uint64
	Source string
}

// New computes the view of a run's summary s. meta and run add what the
// summary leaves out: the limit gofil ran the program under, the OOM
// guard's.
func New(meta rundir.Meta, s *summary.Summary, run *rundir.Run) *Report {
	v := &Report{Headline: headline(s), Limit: memoryLimit(meta, s, run)}
	if s.Peak != nil {
		f := PeakHeap(s.Peak)
		v.Heap = &f
	}
	v.Figures = figures(meta, s, run, v.Limit)
	return v
}
