package report

import (
	"fmt"
	"io"

	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/summary"
	"github.com/gofil/gofil/report/view"
)

// Text writes the short summary gofil prints on stderr.
func Text(w io.Writer, s *summary.Summary, dir string) {
	p := s.Peak
	if p == nil {
		fmt.Fprintf(w, "gofil: no memory figures were recorded\n")
	} else {
		if p.RSSBytes > 0 {
			fmt.Fprintf(w, "gofil: peak RSS %s", units.Bytes(int64(p.RSSBytes)))
		} else {
			fmt.Fprintf(w, "gofil: peak RSS not recorded")
		}
		if p.HeapBytes > 0 {
			f := view.PeakHeap(p)
			fmt.Fprintf(w, "; Go heap at its peak %s (runtime: %s) at %.2fs", f.SampledShown(), f.RuntimeWithOwn(), p.AtSeconds)
			fmt.Fprintf(w, "; outside the Go heap %s", units.Bytes(int64(p.OutsideHeapBytes)))
		}
		fmt.Fprintln(w)
		if line := view.LedgerLine(p.Ledger); line != "" {
			fmt.Fprintf(w, "gofil: %s\n", line)
		}
	}
	if len(s.Top) > 0 {
		fmt.Fprintf(w, "gofil: largest allocation sites at the peak:\n")
		n := len(s.Top)
		if n > 10 {
			n = 10
		}
		for _, site := range s.Top[:n] {
			fmt.Fprintf(w, "  %10s %5.1f%%  %s\n", units.Bytes(site.Bytes), site.Percent, term.Site(site.Function, site.File, site.Line))
		}
		ownText(w, s)
	}
	if o := s.OOM; o != nil && o.Dumps > 0 {
		fmt.Fprintf(w, "gofil: memory limit %s (%s); last emergency dump at %s in use (%.1f%% of the limit), %.2fs into the run:\n",
			units.Bytes(int64(o.LimitBytes)), o.LimitSource, units.Bytes(int64(o.DumpedAtBytes)), 100*float64(o.DumpedAtBytes)/float64(o.LimitBytes), o.AtSeconds)
		n := len(o.Top)
		if n > 5 {
			n = 5
		}
		for _, site := range o.Top[:n] {
			fmt.Fprintf(w, "  %10s %5.1f%%  %s\n", units.Bytes(site.Bytes), site.Percent, term.Site(site.Function, site.File, site.Line))
		}
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "gofil: note: %s\n", n)
	}
	if s.GCAdvice != "" {
		fmt.Fprintf(w, "gofil: GC settings, as a replay of the GC pacer predicts: %s (all settings: summary.json whatif)\n", s.GCAdvice)
	}
	fmt.Fprintf(w, "gofil: report: %s\n", dir)
}

// ownText lists the largest sites in the program's own code (own_top),
// each with the allocation site below it, when view.OwnTopShown says so:
// the line a user would change.
func ownText(w io.Writer, s *summary.Summary) {
	if !view.OwnTopShown(s) {
		return
	}
	fmt.Fprintf(w, "gofil: in the program's own code:\n")
	for _, site := range s.OwnTop[:min(len(s.OwnTop), 5)] {
		below := ""
		if site.SiteFunction != "" {
			below = "  → " + term.Name(site.SiteFunction)
		}
		fmt.Fprintf(w, "  %10s %5.1f%%  %s%s\n", units.Bytes(site.Bytes), site.Percent, term.Site(site.Function, site.File, site.Line), below)
	}
}
