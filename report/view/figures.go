// Package view is the view model of a report: the facts the page and the
// text gofil prints on stderr render, computed once from the summary, each
// figure with its wording ("at most", "unknown", the runtime's figure or
// the samples'), so that no two outputs decide them apart.
package view

import (
	"fmt"
	"strings"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// Figure is one of the page's headline cards: a label, a value and what
// it means.
type Figure struct {
	Label, Value, Detail string
}

// notKnown is a card's value when its figure was not recorded.
const notKnown = "not recorded"

// figures are the page's headline cards.
func figures(meta rundir.Meta, s *summary.Summary, run *rundir.Run, limit Limit) []Figure {
	p := s.Peak
	if p == nil {
		return []Figure{
			{"Peak RSS", notKnown, "gofil recorded no memory figures"},
			{"How it ended", orDash(s.Ended), exitPathDetail(s)},
		}
	}
	out := []Figure{rssFigure(p, hostMemory(meta, s, run)), heapCard(s), outsideFigure(p), whenFigure(s),
		{Label: "How it ended", Value: orDash(s.Ended), Detail: exitPathDetail(s)}}
	if limit.Bytes > 0 {
		out = append(out, limitFigure(s, limit))
	}
	return out
}

// rssFigure is the card of the peak RSS, with the host's memory as
// context when no limit was set.
func rssFigure(p *summary.PeakInfo, host Limit) Figure {
	rss := Figure{Label: "Peak RSS", Value: notKnown, Detail: "the process's peak resident memory over the run"}
	if p.RSSBytes > 0 {
		rss.Value = units.Bytes(int64(p.RSSBytes))
	}
	if host.Bytes > 0 {
		rss.Detail += fmt.Sprintf("; no memory limit was set (the host had %s, %s)", units.Bytes(int64(host.Bytes)), host.Source)
	}
	return rss
}

// heapCard is the card of the Go heap at the peak: its figure, which one
// it is, gofil's own part, the corrections, the live part and the
// sampling rate.
func heapCard(s *summary.Summary) Figure {
	p := s.Peak
	card := Figure{Label: "Go heap at the peak", Value: notKnown}
	if !(p.HeapBytes > 0 || p.Moment != "") {
		return card
	}
	f := PeakHeap(p)
	card.Value = units.Bytes(f.Bytes)
	var details []string
	switch {
	case f.AtMost:
		d := "at most: an upper bound from the runtime's counters across GC cycles the tracker did not see one by one; the samples below add up to " + units.Bytes(f.Sampled)
		if p.LowerBoundBytes > 0 {
			d += fmt.Sprintf("; the heap was read at %s among them (%.2fs)", units.Bytes(int64(p.LowerBoundBytes)), p.LowerBoundAtSeconds)
		}
		details = append(details, d)
	case f.Exact:
		details = append(details, "the runtime's exact figure; the samples below add up to "+units.Bytes(f.Sampled))
	default:
		details = append(details, "from the samples; the runtime's exact figure is not known")
	}
	if f.Own != "" {
		details = append(details, f.Own+" (the profiler's data, not in the samples below nor in the replay of other GC settings)")
	}
	for _, c := range p.Corrections {
		details = append(details, fmt.Sprintf("sampled %s, plus %s of %s", units.Bytes(p.SampledBytes), units.Bytes(c.Bytes), c.Name))
	}
	if d := liveDetail(p); d != "" {
		details = append(details, d)
	}
	if s.SamplingRate > 0 {
		details = append(details, "one sample every "+units.Bytes(int64(s.SamplingRate))+" allocated, on average")
	}
	card.Detail = strings.Join(details, "; ")
	return card
}

// liveDetail says what of the heap at the peak was live, "" when nothing
// is known to be.
func liveDetail(p *summary.PeakInfo) string {
	live := p.LiveBytes
	if p.LiveBytesExact != nil {
		live = int64(*p.LiveBytesExact) // as the headline says it
	}
	switch lf := p.LiveFromGC; {
	case lf != nil:
		return fmt.Sprintf("the program had ended (%s): %s was reachable at its last GC (%.2fs) and held to the end; %s allocated after it: not known whether still in use", p.Moment, units.Bytes(live), lf.AtSeconds, units.Bytes(p.NotKnownBytes))
	case live <= 0:
		return ""
	case p.Moment.WhileRunning():
		return "of which " + units.Bytes(live) + " was still reachable at that GC; the rest was garbage awaiting collection"
	}
	return "the program had ended (" + string(p.Moment) + "): at the final GC only " + units.Bytes(live) + " was still reachable"
}

// outsideFigure is the card of the memory outside the Go heap at the peak.
func outsideFigure(p *summary.PeakInfo) Figure {
	outside := Figure{Label: "Outside the Go heap", Value: notKnown, Detail: "mmap, cgo, the binary: resident memory the Go runtime does not account for"}
	if p.RSSAtPeakBytes > 0 && p.GoRuntimeBytes > 0 { // the Go runtime's figures are known
		outside.Value = units.Bytes(int64(p.OutsideHeapBytes))
		outside.Detail = fmt.Sprintf("at the peak, of %s resident; mmap, cgo, the binary", units.Bytes(int64(p.RSSAtPeakBytes)))
	}
	return outside
}

// whenFigure is the card of the peak's moment: when, and how it was found.
func whenFigure(s *summary.Summary) Figure {
	p := s.Peak
	when := Figure{Label: "When", Value: notKnown}
	switch {
	case p.HeapBytes > 0 && p.Moment != "" && p.Moment != summary.MomentPprof:
		when.Value = fmt.Sprintf("%.2f s into the run", p.AtSeconds)
		var details []string
		if s.DurationSeconds > 0 {
			details = append(details, fmt.Sprintf("of %.2f s", s.DurationSeconds))
		}
		switch p.Moment {
		case summary.MomentGC:
			details = append(details, fmt.Sprintf("at GC cycle %d", p.GCCycle))
		case summary.MomentOutside:
			details = append(details, fmt.Sprintf("at GC cycle %d, started by gofil when memory outside the heap grew", p.GCCycle))
		case summary.MomentIdle:
			details = append(details, fmt.Sprintf("at GC cycle %d, started by gofil while the program was idle", p.GCCycle))
		default:
			details = append(details, "at the final accounting ("+string(p.Moment)+")")
		}
		when.Detail = strings.Join(details, ", ")
	case p.HeapBytes == 0 && p.RSSAtPeakBytes > 0:
		when.Value = fmt.Sprintf("%.2f s into the run", p.AtSeconds)
		when.Detail = "when resident memory was largest"
	}
	return when
}

// limitFigure is the card of the memory limit, with the last emergency
// dump before it.
func limitFigure(s *summary.Summary, limit Limit) Figure {
	f := Figure{Label: "Memory limit", Value: units.Bytes(int64(limit.Bytes))}
	if limit.Source != "" {
		f.Detail = "from " + limit.Source
	}
	if s.OOM != nil && s.OOM.Dumps > 0 {
		f.Detail = strings.TrimPrefix(f.Detail+fmt.Sprintf("; emergency dump at %s, %.2f s into the run", units.Bytes(int64(s.OOM.DumpedAtBytes)), s.OOM.AtSeconds), "; ")
	}
	return f
}

func exitPathDetail(s *summary.Summary) string {
	if s.ReplacedAtSeconds != nil {
		return fmt.Sprintf("the program replaced its image by exec at %.2fs; the tracker ran in the first", *s.ReplacedAtSeconds)
	}
	if s.ExitPath == "" {
		if s.Ended == "" {
			return "not known"
		}
		return "the tracker did not see the end"
	}
	return "the tracker saw: " + s.ExitPath
}

func orDash(s string) string {
	if s == "" {
		return "not known"
	}
	return s
}

// headline is the peak in one sentence: "1.34 GiB at the peak: 650.0 MiB
// live data, 720.0 MiB garbage awaiting collection (GOGC=100 (the default);
// no memory limit)". The runtime's exact split when known, else the
// sampled one; "" without a peak.
func headline(s *summary.Summary) string {
	p := s.Peak
	if p == nil || p.HeapBytes == 0 {
		return ""
	}
	live, garbage := p.LiveBytes, p.GarbageBytes
	if p.LiveBytesExact != nil && p.GarbageBytesExact != nil {
		live, garbage = int64(*p.LiveBytesExact), int64(*p.GarbageBytesExact)
	}
	settings := ""
	if p.GC != nil {
		settings = " (" + p.GC.Describe() + ")"
	}
	heap := capitalized(PeakHeap(p).Shown())
	switch {
	case p.Moment.WhileRunning():
		return fmt.Sprintf("%s at the peak: %s live data, %s garbage awaiting collection%s.", heap, units.Bytes(live), units.Bytes(garbage), settings)
	case p.Moment == summary.MomentPprof || p.Moment == "":
		return ""
	}
	if lf := p.LiveFromGC; lf != nil {
		return fmt.Sprintf("%s at the peak, as the program ended (%s): %s live data, reachable at its last GC (%.2fs) and held to the end; %s allocated after that GC, not known whether still in use%s.", heap, p.Moment, units.Bytes(live), lf.AtSeconds, units.Bytes(p.NotKnownBytes), settings)
	}
	return fmt.Sprintf("%s at the peak, as the program ended (%s): what it held was no longer reachable, only %s was%s.", heap, p.Moment, units.Bytes(live), settings)
}

// memoryLimit is the memory limit the program ran under and where it came
// from, if known.
func memoryLimit(meta rundir.Meta, s *summary.Summary, run *rundir.Run) Limit {
	limit, source := anyLimit(meta, s, run)
	if strings.HasPrefix(source, "host") {
		// The host's memory is no limit anyone set: context, not a card.
		return Limit{}
	}
	return Limit{limit, source}
}

// hostMemory is the host's memory the OOM guard watched when no cgroup
// limit applied, 0 if another limit did.
func hostMemory(meta rundir.Meta, s *summary.Summary, run *rundir.Run) Limit {
	limit, source := anyLimit(meta, s, run)
	if !strings.HasPrefix(source, "host") {
		return Limit{}
	}
	return Limit{limit, source}
}

// anyLimit is the memory limit the OOM guard watched, or that gofil ran
// the program under, and where it comes from.
func anyLimit(meta rundir.Meta, s *summary.Summary, run *rundir.Run) (uint64, string) {
	if s != nil && s.OOM != nil && s.OOM.LimitBytes > 0 {
		return s.OOM.LimitBytes, s.OOM.LimitSource
	}
	if meta.MemoryLimit > 0 {
		return meta.MemoryLimit, ""
	}
	if run != nil && run.OOM != nil && run.OOM.Raw.LimitBytes > 0 {
		return run.OOM.Raw.LimitBytes, run.OOM.Raw.LimitSource
	}
	return 0, ""
}

// capitalized is s with its first letter upper-case.
func capitalized(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
