// Package summary is the model of a report: what a run's files say, in
// figures and notes, as summary.json holds it (Build), with the pacer's
// predictions for other GC settings. The page and the text gofil prints
// render from it.
package summary

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/rundir"
	"github.com/google/pprof/profile"
)

// SchemaVersion is the version of summary.json's layout. Fields are only
// ever added within a version.
const SchemaVersion = 1

// Summary is summary.json. Sizes are bytes, times seconds.
type Summary struct {
	// Incomplete, first in the file, says why the report could not be
	// finished: a file of it could not be written.
	Incomplete string   `json:"incomplete,omitempty"`
	Schema     int      `json:"schema"`
	Command    []string `json:"command"`
	Target     string   `json:"target"`
	ExitCode   int      `json:"exit_code"`
	Ended      string   `json:"ended"`
	ExitPath   string   `json:"exit_path,omitempty"`
	// ReplacedAtSeconds is when the program replaced its image by exec
	// (syscall.Exec), since it started: the report is of the image that
	// ran until then. Absent if it did not.
	ReplacedAtSeconds *float64        `json:"replaced_by_exec_at_seconds,omitempty"`
	DurationSeconds   float64         `json:"duration_seconds"`
	SamplingRate      int             `json:"sampling_rate_bytes,omitempty"`
	Peak              *PeakInfo       `json:"peak"`
	Top               []heap.Site     `json:"top"`
	OwnTop            []heap.Site     `json:"own_top"`
	Functions         []heap.Function `json:"functions"`
	// WhatIf is the peak Go heap and the GC cycles the pacer's replay
	// predicts under other GOGC and GOMEMLIMIT settings; GCAdvice says in
	// one line what the one that saves a fifth of the peak for the fewest
	// GC cycles buys, when one does.
	WhatIf   []WhatIf `json:"whatif,omitempty"`
	GCAdvice string   `json:"gc_advice,omitempty"`
	// WhatIfNote says when the predictions are too weak to rely on.
	WhatIfNote string       `json:"whatif_note,omitempty"`
	Tracker    *TrackerInfo `json:"tracker,omitempty"`
	// LiveAtExitBytes is what a GC after the program's end found live,
	// when gofil asked the tracker for it (gofil test); absent otherwise.
	LiveAtExitBytes uint64            `json:"live_at_exit_bytes,omitempty"`
	OOMKilled       bool              `json:"oom_killed"`
	OOM             *OOMInfo          `json:"oom,omitempty"`
	Notes           []string          `json:"notes"`
	Files           map[string]string `json:"files"`
}

// PeakInfo describes the moment the Go heap was largest.
type PeakInfo struct {
	// AtSeconds is when, since the program started.
	AtSeconds float64 `json:"at_seconds"`
	// HeapBytes is the sampled attribution's total: bytes in heap objects
	// allocated and not yet freed, garbage awaiting collection included.
	HeapBytes   int64 `json:"heap_bytes"`
	HeapObjects int64 `json:"heap_objects"`
	// SampledBytes is the unbiased sampled total of the heap at the GC mark
	// the attribution comes from, before any correction.
	SampledBytes int64 `json:"sampled_bytes"`
	// MarkHeapBytesExact is the runtime's exact heap at that mark, the
	// figure SampledBytes is checked against; null if unknown.
	MarkHeapBytesExact *uint64 `json:"mark_heap_bytes_exact"`
	// MarkHeapBoundsBytes are the least and the most the runtime's heap
	// at that mark can have been, by the readings around it; the exact
	// figure is their middle when they are within 1% of each other. Null
	// when the readings bound nothing.
	MarkHeapBoundsBytes []uint64 `json:"mark_heap_bounds_bytes"`
	// Corrections lists what was added to SampledBytes to make HeapBytes.
	Corrections []heap.Correction `json:"corrections"`
	// HeapBytesExact is the runtime's own figure for the peak's moment; 0
	// if unknown.
	HeapBytesExact uint64 `json:"heap_bytes_exact"`
	// LiveBytes is what the GC at that moment found still reachable of
	// HeapBytes, and GarbageBytes the rest, unreachable but not yet swept:
	// the sampled split, stack by stack. LiveBytesExact and
	// GarbageBytesExact are the runtime's own figures for the same mark
	// (/gc/heap/live, and the exact heap less it); null when not known.
	LiveBytes         int64   `json:"live_bytes"`
	GarbageBytes      int64   `json:"garbage_bytes"`
	LiveBytesExact    *uint64 `json:"live_bytes_exact"`
	GarbageBytesExact *uint64 `json:"garbage_bytes_exact"`
	// LiveFromGC, for a peak at the program's end after main returned
	// (when nothing is reachable any more), is the program's last GC: what
	// it found reachable was held until the end, and is LiveBytes (and
	// LiveBytesExact). NotKnownBytes is the rest, allocated after that GC,
	// not known to be in use or garbage; GarbageBytes is then 0 and
	// GarbageBytesExact null.
	LiveFromGC    *LiveFromGC `json:"live_from_gc,omitempty"`
	NotKnownBytes int64       `json:"not_known_bytes,omitempty"`
	// GC is the GC settings in force at the peak, and who made them; nil
	// when the tracker did not record them.
	GC *GCSettings `json:"gc_settings,omitempty"`
	// RSSBytes is the process's own peak resident memory over the whole
	// run (its VmHWM), not counting child processes.
	RSSBytes uint64 `json:"rss_bytes"`
	// ChildrenRSSBytes is the largest peak RSS of the program's child
	// processes, when it had any.
	ChildrenRSSBytes uint64 `json:"children_rss_bytes,omitempty"`
	// RSSAtPeakBytes is the resident memory at the heap's peak.
	RSSAtPeakBytes uint64 `json:"rss_at_peak_bytes"`
	// Ledger divides the resident memory at the peak's reading so that
	// it adds up (ledger.go); null when the runtime's classes were not
	// read.
	Ledger *Ledger `json:"ledger"`
	// OutsideHeapBytes is resident memory the Go runtime does not account
	// for (mmap, cgo, the binary itself) at the heap's peak: the ledger's
	// outside_go, binary and files when its mappings were read.
	OutsideHeapBytes uint64 `json:"outside_heap_bytes"`
	// GoRuntimeBytes is memory the runtime holds from the OS at the peak.
	GoRuntimeBytes uint64 `json:"go_runtime_bytes"`
	// Moment says how the peak was found, for the instant AtSeconds names
	// (Moments lists the values).
	Moment Moment `json:"moment"`
	// ChosenBy names the figure the peak is the largest of.
	ChosenBy string `json:"chosen_by"`
	GCCycle  uint32 `json:"gc_cycle"`
	// Approximate says the peak spans GC cycles the tracker did not see, so
	// the heap figures are an upper bound.
	Approximate bool `json:"approximate"`
	// LowerBoundBytes, for an approximate peak, is the largest exact heap
	// read within the cycles it spans, at LowerBoundAtSeconds: the heap
	// was at least that, and at most HeapBytesExact.
	LowerBoundBytes     uint64  `json:"lower_bound_bytes,omitempty"`
	LowerBoundAtSeconds float64 `json:"lower_bound_at_seconds,omitempty"`
	// UpperBoundBytes, when set, is a larger heap than this peak's from GC
	// cycles the tracker did not see one by one, at UpperBoundAtSeconds:
	// the peak may have fallen among them.
	UpperBoundBytes     uint64  `json:"upper_bound_bytes,omitempty"`
	UpperBoundAtSeconds float64 `json:"upper_bound_at_seconds,omitempty"`
	// TrackerBytes is the tracker's own heap at the peak: its data and
	// what it had allocated and not yet freed, sampled as the program's
	// heap is (the stacks with a frame of the agent's). It is counted in
	// HeapBytesExact and SampledBytes, left out of HeapBytes, Top and
	// Functions; the what-if replay leaves out what the tracker counted
	// it held at each GC cycle.
	TrackerBytes int64 `json:"tracker_bytes"`
}

// ChosenByMemory is PeakInfo.ChosenBy: the moment with the most memory,
// the runtime's exact heap figure plus resident memory outside the heap.
const ChosenByMemory = "go heap (runtime's exact figure) + memory outside it"

// OOMInfo describes the memory limit and the last emergency dump before
// it.
type OOMInfo struct {
	LimitBytes  uint64  `json:"limit_bytes"`
	LimitSource string  `json:"limit_source"`
	Threshold   float64 `json:"threshold,omitempty"`
	// Dumps counts the emergency dumps; the fields below describe the last.
	Dumps int `json:"dumps"`
	// DumpedAtBytes is the usage that triggered the last dump.
	DumpedAtBytes uint64  `json:"dumped_at_bytes"`
	AtSeconds     float64 `json:"at_seconds"`
	HeapBytes     int64   `json:"heap_bytes"`
	// SampledBytes and MarkHeapBytesExact are the dump's sampled heap before
	// any correction and the runtime's exact heap at the same GC mark (null
	// if unknown), as in PeakInfo.
	SampledBytes       int64   `json:"sampled_bytes"`
	MarkHeapBytesExact *uint64 `json:"mark_heap_bytes_exact"`
	// DumpSeconds is the time from crossing the threshold to the data on
	// disk.
	DumpSeconds float64 `json:"dump_seconds"`
	// FirstDumpSeconds is the time from crossing the threshold to the
	// first dump on disk: the last GC cycle accounted before the crossing
	// and the runtime's exact figures, written before the heap at the
	// crossing is accounted (which needs two GC cycles).
	FirstDumpSeconds float64 `json:"first_dump_seconds"`
	// Refined says the dump holds the heap at the crossing; false, the
	// last cycle accounted before it (the program died in between).
	Refined bool `json:"refined"`
	// TriggerHeapBytes is the runtime's exact heap at the crossing.
	TriggerHeapBytes uint64 `json:"trigger_heap_bytes"`
	// Ledger divides the resident memory at the crossing, as
	// PeakInfo.Ledger does at the peak; null if unknown.
	Ledger    *Ledger         `json:"ledger"`
	Top       []heap.Site     `json:"top"`
	Functions []heap.Function `json:"functions"`
}

// TrackerInfo is what the tracker says of its own work.
type TrackerInfo struct {
	GCCycles        uint32  `json:"gc_cycles"`
	Paired          int     `json:"paired_cycles"`
	Gaps            int     `json:"unpaired_cycles"`
	Snapshots       int     `json:"snapshots"`
	OverheadSeconds float64 `json:"overhead_seconds"`
	// MomentsFileBytes and GCLogBytes are the sizes of raw/moments.json
	// (the heap at marks spread over the run) and raw/gc.tsv (the pacer's
	// inputs per cycle); what the tracker holds for them in memory is in
	// peak.tracker_bytes with the rest of its own heap.
	MomentsFileBytes int64 `json:"moments_file_bytes,omitempty"`
	GCLogBytes       int64 `json:"gc_log_bytes,omitempty"`
}

// replacedByExec reports whether the program replaced the image the
// tracker ran in by exec: the tracker's pipe closed while the program
// went on, and the tracker wrote no end after that (it did when the
// program only closed the pipe).
func replacedByExec(meta rundir.Meta, run *rundir.Run) bool {
	if meta.TrackerGone <= 0 || run.Start == nil {
		return false
	}
	if run.Exit == nil {
		return true
	}
	end := time.Unix(0, run.Start.StartUnix).Add(time.Duration(run.Exit.AtNS))
	return end.Before(meta.Started.Add(meta.TrackerGone))
}

// Build assembles the summary of a run.
func Build(meta rundir.Meta, run *rundir.Run) *Summary {
	s := newSummary(meta, run)
	replaced := replacedByExec(meta, run)
	if replaced {
		at := meta.TrackerGone.Seconds()
		s.ReplacedAtSeconds = &at
	}
	if note := endNote(meta, run, s.Ended, replaced); note != "" {
		s.Notes = append(s.Notes, note)
	}
	addOOM(s, meta, run)
	s.Notes = append(s.Notes, run.Notes...)
	if run.GCLog != nil {
		s.WhatIf, s.GCAdvice = whatIf(run.GCLog)
		s.WhatIfNote = whatIfNote(s.WhatIf)
	}
	peakRSS, children := ownPeakRSS(meta, run)
	if children > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("child processes of the program: the largest had a peak RSS of %s, not counted in the program's", units.Bytes(int64(children))))
	}
	if run.Peak != nil {
		addPeak(s, run, peakRSS, children)
	} else if peakRSS > 0 {
		s.Peak = &PeakInfo{RSSBytes: peakRSS}
		if at, rss := maxRSS(meta.RSS); rss > 0 {
			s.Peak.AtSeconds = at.Seconds()
			s.Peak.RSSAtPeakBytes = rss
		}
	}
	return s
}

// newSummary is the summary of a run before its notes and its peak: the
// command, how it ended, the tracker's own figures.
func newSummary(meta rundir.Meta, run *rundir.Run) *Summary {
	s := &Summary{
		Schema:          SchemaVersion,
		Command:         nonNil(meta.Command),
		Target:          meta.Target,
		ExitCode:        meta.ExitCode,
		DurationSeconds: meta.Duration.Seconds(),
		Top:             []heap.Site{},
		OwnTop:          []heap.Site{},
		Functions:       []heap.Function{},
		Notes:           nonNil(meta.Notes),
		Files:           map[string]string{},
	}
	s.Ended = fmt.Sprintf("exit code %d", meta.ExitCode)
	if meta.Signal != "" {
		s.Ended = "killed by " + meta.Signal
	}
	if meta.EndUnknown {
		s.ExitCode = -1
		s.Ended = "not known"
	}
	if meta.Production {
		s.ExitCode, s.Ended = productionEnd(run.Exit)
		how := "its end, as its tracker recorded it: " + s.Ended
		if meta.OOMKilled && run.Exit == nil && run.OOM != nil {
			s.Ended = "killed by the out-of-memory killer"
			how = fmt.Sprintf("its tracker recorded no end after an emergency dump at %s in use (the limit %s): %s",
				units.Bytes(int64(run.OOM.Raw.UsageBytes)), units.Bytes(int64(run.OOM.Raw.LimitBytes)), s.Ended)
		}
		s.Notes = append(s.Notes, "production run: a binary gofil build wrote ran without gofil; "+how)
	}
	if run.Exit != nil {
		s.ExitPath = run.Exit.How
		s.LiveAtExitBytes = run.Exit.LiveAtExitBytes
		s.Tracker = &TrackerInfo{
			GCCycles: run.Exit.Cycles, Paired: run.Exit.Paired, Gaps: run.Exit.Gaps,
			Snapshots: run.Exit.Snapshots, OverheadSeconds: time.Duration(run.Exit.TrackerNS).Seconds(),
			MomentsFileBytes: run.MomentsFileBytes, GCLogBytes: run.GCLogBytes,
		}
	}
	if run.Start != nil {
		s.SamplingRate = run.Start.Rate
	}
	return s
}

// productionEnd is the exit code and the end of a production run as its
// tracker recorded them in exit (-1: the exit code is not known). A
// process with no record of its end was killed by a signal no program can
// catch: SIGKILL, which is also the out-of-memory killer's.
func productionEnd(exit *raw.Exit) (int, string) {
	switch {
	case exit == nil:
		return -1, "no record of its end: killed (SIGKILL or the OOM killer)"
	case exit.How == "return":
		return 0, "main returned (exit code 0)"
	case exit.How == "panic":
		return 2, "a panic in main (exit code 2)"
	case strings.HasPrefix(exit.How, "signal "):
		return -1, "by " + strings.TrimPrefix(exit.How, "signal ") + " (the tracker recorded it)"
	}
	return -1, "the tracker recorded its end (" + exit.How + "); the exit code is not recorded"
}

// endNote is the note on how the run ended when that leaves something out
// of the report (a prebuilt binary, no tracker, an exec, no peak, no final
// accounting); "" otherwise.
func endNote(meta rundir.Meta, run *rundir.Run, ended string, replaced bool) string {
	const newImage = "; the new image ran without the tracker and was seen from outside only (resident memory, how it ended)"
	switch {
	case meta.NoSource:
		return "prebuilt binary: only resident memory was observed; allocation stacks need the program's source (gofil run PACKAGE)"
	case run.Start == nil:
		return "the tracker wrote nothing: the program ended before it started"
	case replaced && run.Peak == nil:
		return fmt.Sprintf("the program replaced its image by exec %.2fs into the run, before the tracker could account its first GC cycle: no heap peak was recorded%s", meta.TrackerGone.Seconds(), newImage)
	case replaced:
		return fmt.Sprintf("the program replaced its image by exec %.2fs into the run: the report holds the heap of the image that ran until then, up to its last GC%s", meta.TrackerGone.Seconds(), newImage)
	case run.Peak == nil:
		return "no heap peak was recorded: the program ended before its first GC cycle could be accounted"
	case run.Exit == nil && meta.ExitCode == 2 && meta.Signal == "" && (run.Blocked != nil || Moment(run.Peak.Raw.Reason) == MomentIdle):
		return "the program ended with exit code 2 while idle, as the Go runtime ends a deadlock " +
			"(\"all goroutines are asleep\"); the tracker had accounted the heap when it became idle"
	case run.Exit == nil:
		return "the program ended without the tracker's final accounting (" + ended + "): the report holds the heap up to the program's last GC"
	}
	return ""
}

// addOOM adds to s the out-of-memory killer's end, the OOM guard's limit
// and dumps, and the notes about them.
func addOOM(s *Summary, meta rundir.Meta, run *rundir.Run) {
	s.OOMKilled = meta.OOMKilled
	if meta.OOMKilled {
		s.Ended = "killed by the out-of-memory killer"
	}
	if run.Start != nil && run.Start.GuardError != "" {
		s.Notes = append(s.Notes, "no OOM guard: "+run.Start.GuardError)
	}
	if run.Start != nil && run.Start.LimitBytes > 0 || run.OOM != nil || meta.MemoryLimit > 0 {
		s.OOM = oomInfo(meta, run)
	}
	if meta.OOMKilled && run.OOM == nil {
		s.Notes = append(s.Notes, "killed by the out-of-memory killer before any emergency dump: memory grew past the threshold and the limit within one poll, or the guard could not run")
	}
}

// addPeak adds to s the heap at the peak, run.Peak: its figures, the notes
// on how far to trust them, its largest sites and functions.
func addPeak(s *Summary, run *rundir.Run, peakRSS, children uint64) {
	h := run.Peak
	p := peakInfo(h, run)
	p.RSSBytes, p.ChildrenRSSBytes = peakRSS, children
	if h.Raw.BoundBytes > 0 {
		p.UpperBoundBytes = h.Raw.BoundBytes
		p.UpperBoundAtSeconds = time.Duration(h.Raw.BoundAtNS).Seconds()
		s.Notes = append(s.Notes, fmt.Sprintf("GC cycles at %.2fs followed each other faster than the tracker could see them one by one; their heap was at most %s, more than this peak: the peak may have fallen among them", p.UpperBoundAtSeconds, units.Bytes(int64(p.UpperBoundBytes))))
	}
	if msg := h.Disagreement(); msg != "" {
		s.Notes = append(s.Notes, msg)
	}
	s.Peak = p
	p.Approximate = h.Raw.Approximate
	if h.Raw.Approximate {
		s.Notes = append(s.Notes, approximateNote(p, h.Raw))
	}
	own := heap.Own{}
	if run.Start != nil {
		own.Module = run.Start.OwnModule
	}
	s.Top = h.TopSites(50)
	h.NameOwn(s.Top, own)
	s.OwnTop = h.OwnSites(own)
	if len(s.OwnTop) > 50 {
		s.OwnTop = s.OwnTop[:50]
	}
	s.Functions = topFunctions(h, 100)
	truncated := 0
	for _, st := range h.Stacks {
		if st.Truncated {
			truncated++
		}
	}
	if truncated > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d stacks were deeper than the runtime's 32-frame limit and lost their outermost frames (labelled truncated in %s)", truncated, rundir.PeakProfile))
	}
}

// peakInfo is the figures of the heap at the peak h: the sampled
// attribution, the runtime's exact ones, resident memory at its moment,
// the GC settings.
func peakInfo(h *heap.Heap, run *rundir.Run) *PeakInfo {
	p := &PeakInfo{
		AtSeconds:      time.Duration(h.Raw.AtNS).Seconds(),
		HeapBytes:      h.Bytes,
		HeapObjects:    h.Objects,
		SampledBytes:   h.Sampled(),
		Corrections:    h.Corrections(),
		HeapBytesExact: h.Raw.ExactBytes,
		ChosenBy:       ChosenByMemory,
		LiveBytes:      h.LiveBytes(),
		Moment:         Moment(h.Raw.Reason),
		GCCycle:        h.Raw.Cycle,
		TrackerBytes:   h.TrackerBytes,
	}
	at := rundir.TimelinePoint{RSS: h.Raw.RSSBytes, GoMapped: h.Raw.GoMappedBytes, GoReleased: h.Raw.GoReleasedBytes}
	if at.RSS == 0 {
		at, _ = rundir.PointAt(run.Timeline, time.Duration(h.Raw.AtNS))
	}
	p.RSSAtPeakBytes = at.RSS
	p.OutsideHeapBytes = at.Outside()
	if at.GoMapped > at.GoReleased {
		p.GoRuntimeBytes = at.GoMapped - at.GoReleased
	}
	if h.Raw.MarkExactBytes > 0 {
		v := h.Raw.MarkExactBytes
		p.MarkHeapBytesExact = &v
	}
	if h.Raw.MarkHiBytes > 0 {
		p.MarkHeapBoundsBytes = []uint64{h.Raw.MarkLoBytes, h.Raw.MarkHiBytes}
	}
	p.GarbageBytes = p.HeapBytes - p.LiveBytes
	p.GC = gcSettingsOf(h.Raw, run.Start)
	if live := h.Raw.MarkLiveBytes; live > 0 && h.Raw.MarkExactBytes >= live {
		garbage := h.Raw.MarkExactBytes - live
		p.LiveBytesExact, p.GarbageBytesExact = &live, &garbage
	}
	if h.LiveFrom() {
		p.LiveFromGC = &LiveFromGC{Cycle: h.Raw.LiveFromCycle, AtSeconds: time.Duration(h.Raw.LiveFromNS).Seconds()}
		p.NotKnownBytes, p.GarbageBytes, p.GarbageBytesExact = p.GarbageBytes, 0, nil
	}
	live := uint64(max(p.LiveBytes, 0))
	if p.LiveBytesExact != nil {
		live = *p.LiveBytesExact
	}
	p.Ledger = ledgerOf(h.Raw.Ledger, live, p.LiveFromGC != nil, uint64(max(h.TrackerBytes, 0)))
	if l := p.Ledger; l != nil && l.ResidentKnown {
		// The runtime counts pages it mapped but never touched, which
		// RSS less the runtime's figure takes for nothing outside.
		p.OutsideHeapBytes = l.OutsideGoBytes + l.FilesBytes
	}
	return p
}

// approximateNote says that the peak p fell among GC cycles the tracker
// did not see, and what bounds its heap; it sets p's lower bound.
func approximateNote(p *PeakInfo, r raw.Profile) string {
	note := "the peak fell among GC cycles that followed each other faster than the tracker could see: its figures are an upper bound and may count memory those GCs freed"
	if r.LeastBytes > 0 {
		p.LowerBoundBytes = r.LeastBytes
		p.LowerBoundAtSeconds = time.Duration(r.LeastAtNS).Seconds()
		note += fmt.Sprintf("; the runtime's heap among them was read at %s (%.2fs), so the heap was at least that", units.Bytes(int64(p.LowerBoundBytes)), p.LowerBoundAtSeconds)
		if p.HeapBytesExact > 0 {
			note += " and at most " + units.Bytes(int64(p.HeapBytesExact))
		}
	}
	return note
}

// topFunctions are h's n largest functions.
func topFunctions(h *heap.Heap, n int) []heap.Function {
	fns := h.Functions()
	if len(fns) > n {
		fns = fns[:n]
	}
	return fns
}

// ownPeakRSS is the program's own peak RSS: its VmHWM, read by the tracker
// at exit and by gofil while it ran, the larger. wait4's maxrss counts what
// the child inherited from gofil at exec (os/exec forks with CLONE_VM) and
// its largest child, so it is used only when the tracker could not read the
// high-water mark at exit and it is larger than gofil's last reading. children is the
// largest child process's peak RSS, 0 if none.
func ownPeakRSS(meta rundir.Meta, run *rundir.Run) (own, children uint64) {
	own = meta.HighWater
	if run.Exit != nil {
		if run.Exit.MaxRSSBytes > own {
			own = run.Exit.MaxRSSBytes
		}
		children = run.Exit.ChildrenMaxRSSBytes
	}
	for _, p := range meta.RSS {
		if p.RSS > own {
			own = p.RSS
		}
	}
	if run.Exit == nil && meta.MaxRSS > own {
		// No reading at exit (a prebuilt binary, a kill): the last poll
		// may have come before the high-water mark; wait4 bounds it.
		own = meta.MaxRSS
	}
	return own, children
}

func oomInfo(meta rundir.Meta, run *rundir.Run) *OOMInfo {
	o := &OOMInfo{LimitBytes: meta.MemoryLimit, Top: []heap.Site{}, Functions: []heap.Function{}}
	if run.Start != nil {
		o.LimitSource = run.Start.LimitSource
		o.Threshold = run.Start.OOMThreshold
		if run.Start.LimitBytes > 0 {
			o.LimitBytes = run.Start.LimitBytes
		}
	}
	if h := run.OOM; h != nil {
		o.Dumps = h.Raw.Level
		o.DumpedAtBytes = h.Raw.UsageBytes
		o.AtSeconds = time.Duration(h.Raw.AtNS).Seconds()
		o.HeapBytes = h.Bytes
		if h.Raw.LimitBytes > 0 {
			o.LimitBytes = h.Raw.LimitBytes
		}
		// The file's time is only as fine as the kernel's clock tick; the
		// tracker's own measure, up to the write, bounds it from below.
		o.DumpSeconds = time.Duration(h.Raw.AccountedNS).Seconds()
		if !run.OOMWritten.IsZero() && h.Raw.CrossedUnixNS > 0 {
			if d := run.OOMWritten.Sub(time.Unix(0, h.Raw.CrossedUnixNS)).Seconds(); d > o.DumpSeconds {
				o.DumpSeconds = d
			}
		}
		o.SampledBytes = h.Sampled()
		if h.Raw.MarkExactBytes > 0 {
			v := h.Raw.MarkExactBytes
			o.MarkHeapBytesExact = &v
		}
		o.Refined = h.Raw.Refined
		o.TriggerHeapBytes = h.Raw.TriggerHeapBytes
		o.Ledger = ledgerOf(h.Raw.Ledger, uint64(max(h.LiveBytes(), 0)), false, uint64(max(h.TrackerBytes, 0)))
		o.FirstDumpSeconds = o.DumpSeconds
		if h.Raw.Refined && h.Raw.FirstDumpNS > 0 {
			o.FirstDumpSeconds = time.Duration(h.Raw.FirstDumpNS).Seconds()
		}
		if dt, ok := run.DumpTimes[h.Raw.Level]; ok && dt[0] > 0 {
			// Measured by the tracker after the file was synced.
			o.FirstDumpSeconds = dt[0].Seconds()
			if h.Raw.Refined && dt[1] > 0 {
				o.DumpSeconds = dt[1].Seconds()
			}
		}
		o.Top = h.Sites()
		if len(o.Top) > 50 {
			o.Top = o.Top[:50]
		}
		o.Functions = h.Functions()
		if len(o.Functions) > 100 {
			o.Functions = o.Functions[:100]
		}
	}
	return o
}

func maxRSS(points []rundir.RSSPoint) (time.Duration, uint64) {
	var at time.Duration
	var best uint64
	for _, p := range points {
		if p.RSS > best {
			best, at = p.RSS, p.At
		}
	}
	return at, best
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GCSettings are the GC settings in force at a moment of the run: GOGC
// (-1 for off) and the memory limit (0 for none), each with who set it:
// "default", "environment" (GOGC, GOMEMLIMIT) or "program" (debug.SetGCPercent,
// debug.SetMemoryLimit).
type GCSettings struct {
	GOGC             int64  `json:"gogc"`
	GOGCSetBy        string `json:"gogc_set_by"`
	MemoryLimitBytes int64  `json:"memory_limit_bytes"`
	MemoryLimitSetBy string `json:"memory_limit_set_by"`
}

// gcSettingsOf is what the heap p was read under, nil if not recorded.
func gcSettingsOf(p raw.Profile, st *raw.Start) *GCSettings {
	if p.GOGC == nil || p.MemoryLimit == nil {
		return nil
	}
	var envGOGC, envLimit string
	if st != nil {
		envGOGC, envLimit = st.EnvGOGC, st.EnvGOMEMLIMIT
	}
	g := &GCSettings{GOGC: *p.GOGC, MemoryLimitBytes: *p.MemoryLimit}
	g.GOGCSetBy = setBy(g.GOGC, envGOGC, parseGOGC(envGOGC))
	g.MemoryLimitSetBy = setBy(g.MemoryLimitBytes, envLimit, parseGOMEMLIMIT(envLimit))
	if g.MemoryLimitBytes == math.MaxInt64 {
		g.MemoryLimitBytes = 0
	}
	return g
}

// setBy says who made a setting whose value is v, given the variable env
// the program started with and the value it gives.
func setBy(v int64, env string, fromEnv int64) string {
	switch {
	case v != fromEnv:
		return "program"
	case env == "":
		return "default"
	}
	return "environment"
}

// parseGOGC is the GOGC the runtime takes from the variable s.
func parseGOGC(s string) int64 {
	if s == "off" {
		return -1
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return 100
}

// parseGOMEMLIMIT is the memory limit the runtime takes from the variable
// s ("700MiB", "1GiB", bytes), math.MaxInt64 for none.
func parseGOMEMLIMIT(s string) int64 {
	if s == "" || s == "off" {
		return math.MaxInt64
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return math.MaxInt64
	}
	return n * mult
}

// Describe says the settings in words: "GOGC=100 (the default), no memory
// limit", "GOGC=500, set by the program; GOMEMLIMIT=700.0 MiB, from the
// environment".
func (g *GCSettings) Describe() string {
	who := map[string]string{"default": " (the default)", "environment": ", from the environment", "program": ", set by the program"}
	gogc := "GOGC=" + strconv.FormatInt(g.GOGC, 10)
	if g.GOGC < 0 {
		gogc = "GOGC=off"
	}
	gogc += who[g.GOGCSetBy]
	if g.MemoryLimitBytes == 0 {
		if g.MemoryLimitSetBy == "program" {
			return gogc + "; no memory limit (removed by the program)"
		}
		return gogc + "; no memory limit"
	}
	return gogc + "; GOMEMLIMIT=" + units.Bytes(g.MemoryLimitBytes) + who[g.MemoryLimitSetBy]
}

// LiveFromGC is the GC whose reachability a peak at the program's end
// counts as live.
type LiveFromGC struct {
	Cycle     uint32  `json:"cycle"`
	AtSeconds float64 `json:"at_seconds"`
}

// ProfileSummary is summary.json for a heap profile: the heap in use when
// it was written, with no timeline, resident memory or exit status.
func ProfileSummary(path string, p *profile.Profile, h *heap.Heap) *Summary {
	s := &Summary{
		Schema:          SchemaVersion,
		Command:         []string{},
		Target:          path,
		DurationSeconds: time.Duration(p.DurationNanos).Seconds(),
		SamplingRate:    int(p.Period),
		Peak: &PeakInfo{
			HeapBytes:   h.Bytes,
			HeapObjects: h.Objects,
			Moment:      MomentPprof,
		},
		Top:       []heap.Site{},
		OwnTop:    []heap.Site{},
		Functions: []heap.Function{},
		Files:     map[string]string{},
	}
	note := "this report comes from a heap profile written by runtime/pprof or net/http/pprof, not from 'gofil run': it shows the heap in use as of the last GC before the profile was written, not the peak, and there is no timeline, resident memory or exit status"
	if p.TimeNanos != 0 {
		note += fmt.Sprintf(" (profile written %s)", time.Unix(0, p.TimeNanos).UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	s.Notes = []string{note}
	if sites := h.Sites(); len(sites) > 0 {
		s.Top = sites[:min(len(sites), 50)]
		h.NameOwn(s.Top, heap.Own{})
	}
	if own := h.OwnSites(heap.Own{}); len(own) > 0 {
		s.OwnTop = own[:min(len(own), 50)]
	}
	if fns := h.Functions(); len(fns) > 0 {
		s.Functions = fns[:min(len(fns), 100)]
	}
	return s
}
