// Package page renders a report's interactive page, index.html: the
// headline figures, flame and icicle graphs of the heap at the peak and at
// other GC marks, the memory timeline, the call graph, the largest
// allocation sites and the predictions for other GC settings.
package page

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
	"github.com/gofil/gofil/report/view"
)

// Flamegraph IDs on the page: the page's script drives both graphs
// through the functions flamegraph's script defines for them.
const (
	flameID  = "peak"
	icicleID = "peakrev"
)

var (
	//go:embed assets/report.html
	pageSource string
	//go:embed assets/report.css
	pageStyle string
	//go:embed assets/report.js
	pageScript string

	pageTemplate = template.Must(template.New("report").Parse(pageSource))
)

// Write writes index.html into the report directory dir: one
// self-contained page (no network, all styles and scripts inline) with the
// headline figures of s, flame and icicle graphs of the heap at the peak
// (run.Peak), the memory timeline, the largest allocation sites, a call
// graph of the peak and links to the report's other files, those listed in
// s.Files. report.WriteDir calls it, before it writes summary.json.
//
// Every name from the profile is escaped. The page stays under 10 MB for
// any profile: flamegraph frames narrower than half a pixel are merged
// into "other" frames, more when a graph would exceed 4 MB, without
// changing any total, and the call graph keeps at most the 80 largest
// functions. If the call graph cannot be laid out, the page says why
// instead of showing it. The same input gives the same page.
func Write(dir string, meta rundir.Meta, s *summary.Summary, run *rundir.Run) error {
	if s == nil {
		return fmt.Errorf("write %s: no summary", rundir.HTMLFile)
	}
	if run == nil {
		run = &rundir.Run{}
	}
	var page bytes.Buffer
	if _, err := renderHTML(context.Background(), &page, dir, meta, s, run); err != nil {
		return fmt.Errorf("write %s: %w", rundir.HTMLFile, err)
	}
	if err := raw.WriteFile(dir, rundir.HTMLFile, page.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", rundir.HTMLFile, err)
	}
	return nil
}

// htmlStats is what rendering measured, for tests and benchmarks.
type htmlStats struct {
	// Graphviz is the time spent laying out the call graph, the helper's
	// start (and build, the first time) included.
	Graphviz time.Duration
}

// pageData is what the page template shows. Strings are escaped by
// html/template; the template.HTML fields hold SVG that its generators
// escaped.
type pageData struct {
	Title   string
	Command string
	// Headline says the peak in one sentence: live data and garbage, and
	// the GC settings that let the garbage be.
	Headline string
	// SplitShown says the flame graph's boxes show their garbage paler;
	// LiveFrom that the peak is the program's end, whose live part is
	// what its last GC found reachable, and the paler part not known.
	SplitShown, LiveFrom bool
	Figures              []view.Figure
	// Ledger is the resident set at the peak in parts (ledgerBar), and
	// LedgerLine the same in words.
	Ledger     []ledgerSeg
	LedgerLine string
	// LedgerRSS is the resident set's width beside the bar's, and its
	// size.
	LedgerRSS, LedgerRSSText string
	Notes                    []string
	HasPeak                  bool
	Flame                    template.HTML
	Icicle                   template.HTML
	// Moments are other GC marks the page can show in the peak's place,
	// MomentsJSON what the script knows of them.
	Moments     []pageMoment
	MomentsJSON template.JS
	// FlameNote says when frames were merged more than usual.
	FlameNote   string
	Timeline    *timeline
	TimelineSVG template.HTML
	// TimelineJSON is the timeline's data for the script; encoding/json
	// escapes <, > and &, so it cannot end the <script> element.
	TimelineJSON template.JS
	Sites        []siteRow
	SitesNote    string
	// OwnSites are the sites by the program's own code (own_top), when the
	// largest sites are not all its own lines.
	OwnSites []siteRow
	// WhatIf is the pacer's replay under other settings, GCAdvice its
	// one line of advice, WhatIfCheck the model held against the run,
	// WhatIfSetBy a caveat when the program sets GOGC itself.
	WhatIf        []whatIfRow
	GCAdvice      string
	WhatIfCheck   string
	WhatIfSetBy   string
	WhatIfNote    string
	CallGraph     template.HTML
	CallGraphNote string
	Files         []fileLink
	PprofCommand  string
	Started       string
	Style         template.CSS
	Script        template.JS
}

type siteRow struct {
	// Function is the full name, Short the one shown (flamegraph.ShortName).
	Function, Short, Location, File string
	Bytes, Objects, Live, Garbage   int64
	BytesText, ObjectsText          string
	LiveText, GarbageText           string
	Percent                         string
	PercentValue                    float64
	User                            bool
	// ErrorText is one standard error of Bytes from sampling, "" when
	// none; Noise says Bytes is within two of it (heap.WithinNoise).
	ErrorText string
	Noise     bool
	// Below is, for a site of the program's own code, the allocation site
	// below it that holds most of its bytes, shortened.
	Below, BelowFull string
}

type fileLink struct {
	Name, What string
}

// renderHTML writes the page to w. dir is the report directory, for the
// links to the files beside the page.
func renderHTML(ctx context.Context, w *bytes.Buffer, dir string, meta rundir.Meta, s *summary.Summary, run *rundir.Run) (htmlStats, error) {
	var stats htmlStats
	d := pageData{
		Title:   pageTitle(s),
		Command: strings.Join(s.Command, " "),
		Notes:   nonNil(s.Notes),
		Style:   template.CSS(pageStyle),
		Script:  template.JS(pageScript),
	}
	v := view.New(meta, s, run)
	d.Figures = v.Figures
	if s.Peak != nil {
		d.Ledger, d.LedgerRSS = ledgerBar(s.Peak.Ledger)
		d.LedgerLine = view.LedgerLine(s.Peak.Ledger)
		if l := s.Peak.Ledger; l != nil {
			d.LedgerRSSText = units.Bytes(int64(l.RSSBytes))
		}
	}
	d.Headline = v.Headline
	if run != nil && run.Peak != nil {
		d.LiveFrom = run.Peak.LiveFrom()
		d.SplitShown = summary.Moment(run.Peak.Raw.Reason).WhileRunning() || d.LiveFrom
	}
	if !meta.Started.IsZero() {
		d.Started = meta.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}

	var user *userCode
	if h := run.Peak; h != nil && len(h.Stacks) > 0 {
		var err error
		if user, stats.Graphviz, err = renderPeak(ctx, &d, dir, s, run); err != nil {
			return stats, err
		}
	}

	if tl := buildTimeline(meta, s, run, v); tl != nil {
		d.Timeline = tl
		d.TimelineSVG = template.HTML(tl.SVG)
		data, err := json.Marshal(tl.Data)
		if err != nil {
			return stats, fmt.Errorf("timeline: %w", err)
		}
		d.TimelineJSON = template.JS(data)
	}

	d.Sites = siteRows(s.Top, user)
	d.OwnSites = ownRows(s, user)
	d.WhatIf, d.WhatIfCheck = whatIfRows(s.WhatIf)
	d.GCAdvice = s.GCAdvice
	d.WhatIfNote = s.WhatIfNote
	if s.Peak != nil && s.Peak.GC != nil && (s.Peak.GC.GOGCSetBy == "program" || s.Peak.GC.MemoryLimitSetBy == "program") {
		d.WhatIfSetBy = " The program sets its GC settings itself (runtime/debug): the environment variables GOGC and GOMEMLIMIT would not change them; the program's own call would."
	}
	if len(s.Top) >= 50 {
		d.SitesNote = "The 50 largest sites are listed; peak.pb.gz holds them all."
	}
	d.Files = reportFiles(dir)
	for _, f := range d.Files {
		if f.Name == rundir.PeakProfile {
			d.PprofCommand = "go tool pprof -http=: " + rundir.PeakProfile
		}
	}
	if err := pageTemplate.Execute(w, d); err != nil {
		return stats, err
	}
	return stats, nil
}

// renderPeak renders the graphs of the heap at the peak, run.Peak, into d:
// the flame and icicle graphs, which it also writes into dir as files of
// their own, the other moments and the call graph. It returns which code
// is the program's own and how long laying out the call graph took.
func renderPeak(ctx context.Context, d *pageData, dir string, s *summary.Summary, run *rundir.Run) (*userCode, time.Duration, error) {
	h := run.Peak
	d.HasPeak = true
	user := newUserCode(h.Stacks)
	src := newSourceCache() // the peak's graphs and every moment's
	flame, icicle, minWidth, err := renderFlamegraphs(flameSamples(h, src), h.Bytes, user, restLabel(h))
	if err != nil {
		return nil, 0, err
	}
	d.Flame, d.Icicle = template.HTML(flame), template.HTML(icicle)
	// The same graphs as files of their own, interactive when opened
	// alone (hover, zoom, search), as Fil writes them.
	if err := raw.WriteFile(dir, rundir.FlameSVG, []byte(flame)); err != nil {
		return nil, 0, err
	}
	if err := raw.WriteFile(dir, rundir.IcicleSVG, []byte(icicle)); err != nil {
		return nil, 0, err
	}
	s.Files["flamegraph"], s.Files["flamegraph_reversed"] = rundir.FlameSVG, rundir.IcicleSVG
	if minWidth > flamegraph.DefaultMinWidth {
		d.FlameNote = fmt.Sprintf("This profile is large: to keep the page small, functions narrower than %s pixels are merged into “other” boxes, which keep their bytes.", trimFloat(minWidth))
	}

	if d.Moments, d.MomentsJSON, err = pageMoments(run, user, src); err != nil {
		return nil, 0, err
	}

	g := buildCallGraph(h)
	svg, elapsed, err := renderCallGraph(ctx, g)
	if err != nil {
		d.CallGraphNote = "The call graph could not be drawn: " + err.Error()
	} else {
		d.CallGraph = template.HTML(svg)
		d.CallGraphNote = callGraphNote(g)
	}
	return user, elapsed, nil
}

func pageTitle(s *summary.Summary) string {
	switch {
	case s.Target != "":
		return s.Target
	case len(s.Command) > 0:
		return s.Command[0]
	}
	return "memory report"
}

// flameSamples converts h's stacks for the flamegraph package, with the
// text of each frame's source line where the file can be read (through
// src), and their live parts when the heap is a running program's (a GC's
// mark, memory outside the heap, the program blocked): at its end (main
// returned, exit) nothing is reachable any more, and every box would be
// garbage.
func flameSamples(h *heap.Heap, src *sourceCache) *flamegraph.Stacks {
	split := summary.Moment(h.Raw.Reason).WhileRunning() || h.LiveFrom()
	n := 0
	for _, s := range h.Stacks {
		n += len(s.Frames)
	}
	all := make([]int32, n) // one allocation for every stack
	ids := map[heap.Frame]int32{}
	st := &flamegraph.Stacks{Samples: make([]flamegraph.StackSample, 0, len(h.Stacks))}
	var prev []heap.Frame
	var prevOut []int32
	for _, s := range h.Stacks {
		stack := all[:len(s.Frames):len(s.Frames)]
		all = all[len(s.Frames):]
		for i, f := range s.Frames {
			// Neighbouring stacks share their outer frames; comparing with
			// the previous stack is cheaper than hashing.
			if i < len(prev) && prev[i] == f {
				stack[i] = prevOut[i]
				continue
			}
			id, ok := ids[f]
			if !ok {
				id = int32(len(st.Frames))
				ids[f] = id
				st.Frames = append(st.Frames, flamegraph.Frame{Func: f.Func, File: f.File, Line: f.Line, Source: src.line(f.File, f.Line)})
			}
			stack[i] = id
		}
		prev, prevOut = s.Frames, stack
		smp := flamegraph.StackSample{Stack: stack, Bytes: max(s.Bytes, 0), Objects: max(s.Objects, 0)}
		if split {
			smp.Live = s.Live()
		}
		st.Samples = append(st.Samples, smp)
	}
	return st
}

// flameBudget is the most bytes one flamegraph may take on the page: two
// of them, the timeline and the call graph stay under 10 MB.
const flameBudget = 4 << 20

// errFlameTooBig stops a flamegraph's rendering once it exceeds
// flameBudget.
var errFlameTooBig = errors.New("flamegraph over budget")

// cappedBuffer is a buffer that refuses to grow past limit bytes.
type cappedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errFlameTooBig
	}
	return b.Buffer.Write(p)
}

// renderFlamegraphs renders the flame and icicle graphs of samples. Frames
// narrower than half a pixel are merged into "other" frames; when a graph
// would still exceed flameBudget (a profile with thousands of deep stacks
// of similar size), the threshold doubles until it fits. Merging never
// changes a total. It returns the threshold used.
func renderFlamegraphs(samples *flamegraph.Stacks, total int64, user *userCode, rest string) (flame, icicle string, minWidth float64, err error) {
	var fg, ic cappedBuffer
	minWidth, err = fitted(flamegraph.DefaultMinWidth, 10, func(minWidth float64) error {
		fg, ic = cappedBuffer{limit: flameBudget}, cappedBuffer{limit: flameBudget}
		err := flamegraph.RenderStacks(&fg, samples, flamegraph.Options{
			ID: flameID, Title: "Go heap at the peak, as sampled: " + units.Bytes(total), IsUserCode: user.IsUser, MinWidth: minWidth,
			RestLabel: rest,
		})
		if err != nil {
			return err
		}
		return flamegraph.RenderStacks(&ic, samples, flamegraph.Options{
			ID: icicleID, Title: "The same heap, callers on top", Orientation: flamegraph.Icicle,
			IsUserCode: user.IsUser, MinWidth: minWidth, RestLabel: rest,
		})
	})
	if err != nil {
		return "", "", 0, err
	}
	return fg.String(), ic.String(), minWidth, nil
}

// fitted calls render with frames narrower than minWidth pixels to be
// merged, doubling minWidth while a graph exceeds its budget
// (errFlameTooBig), at most doublings times, and returns the width that
// fitted.
func fitted(minWidth float64, doublings int, render func(minWidth float64) error) (float64, error) {
	for attempt := 0; ; attempt++ {
		err := render(minWidth)
		if err == nil {
			return minWidth, nil
		}
		if !errors.Is(err, errFlameTooBig) || attempt == doublings {
			return 0, err
		}
		minWidth *= 2
	}
}

// renderCallGraph lays g out with Graphviz and says how long it took.
func renderCallGraph(ctx context.Context, g *callGraph) (string, time.Duration, error) {
	if len(g.nodes) == 0 {
		return "", 0, fmt.Errorf("the heap holds no bytes")
	}
	start := time.Now()
	svg, err := svgOf(ctx, g.dot())
	return svg, time.Since(start), err
}

func callGraphNote(g *callGraph) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%d functions and %d calls are shown", len(g.nodes), len(g.edges)))
	if g.droppedNodes > 0 {
		parts = append(parts, fmt.Sprintf("%d smaller functions, each holding at most %s with its callees, are left out (the graph shows at most %d, each holding 0.5%% of the heap or more)", g.droppedNodes, units.Bytes(g.droppedNodeBytes), callGraphMaxNodes))
	}
	if g.droppedEdges > 0 {
		parts = append(parts, fmt.Sprintf("%d calls carrying less than 0.5%% of the heap (%s) are left out", g.droppedEdges, units.Bytes(g.minEdge)))
	}
	note := strings.Join(parts, "; ") + "."
	for _, e := range g.edges {
		if e.indirect {
			note += " Dashed arrows pass through functions that are left out."
			break
		}
	}
	return note
}

// ownRows are the rows of the table of the program's own code, own_top,
// when view.OwnTopShown says it is listed.
func ownRows(s *summary.Summary, user *userCode) []siteRow {
	if !view.OwnTopShown(s) {
		return nil
	}
	rows := siteRows(s.OwnTop, user)
	for i, site := range s.OwnTop {
		if site.SiteFunction != "" {
			rows[i].Below, rows[i].BelowFull = flamegraph.ShortName(site.SiteFunction), site.SiteFunction
		}
	}
	return rows
}

func siteRows(top []heap.Site, user *userCode) []siteRow {
	rows := make([]siteRow, 0, len(top))
	for _, site := range top {
		r := siteRow{
			Function: site.Function, Short: flamegraph.ShortName(site.Function), Location: siteLocation(site), File: site.File,
			Bytes: site.Bytes, Objects: site.Objects, Live: site.LiveBytes, Garbage: site.GarbageBytes + site.NotKnownBytes,
			BytesText: units.Bytes(site.Bytes), ObjectsText: units.Grouped(site.Objects),
			LiveText: units.Bytes(site.LiveBytes), GarbageText: units.Bytes(site.GarbageBytes + site.NotKnownBytes),
			Percent: fmt.Sprintf("%.1f%%", site.Percent), PercentValue: site.Percent,
			Noise: heap.WithinNoise(site.Bytes, site.ErrorBytes),
		}
		if site.ErrorBytes > 0 {
			r.ErrorText = units.Bytes(site.ErrorBytes)
		}
		if user != nil {
			r.User = user.IsUser(flamegraph.Frame{Func: site.Function, File: site.File, Line: site.Line})
		}
		rows = append(rows, r)
	}
	return rows
}

// siteLocation is a site's file and line as the table shows them.
func siteLocation(site heap.Site) string {
	loc := filepath.Base(site.File)
	if site.File == "" {
		loc = "?"
	}
	if site.Line > 0 {
		loc += fmt.Sprintf(":%d", site.Line)
	}
	return loc
}

// reportFiles lists the files beside the page that it links to.
func reportFiles(dir string) []fileLink {
	files := []fileLink{
		{rundir.FlameSVG, "the flame graph of the peak alone, interactive in a browser"},
		{rundir.IcicleSVG, "the same heap reversed, callers on top"},
		{rundir.PeakProfile, "the heap at the peak as a pprof profile (inuse_space, inuse_objects, live_space, garbage_space)"},
		{rundir.PeakFolded, "the same stacks in Brendan Gregg's collapsed format, for flamegraph.pl or speedscope"},
		{rundir.SummaryFile, "the figures on this page, machine-readable"},
		{rundir.OOMProfile, "the heap at the last emergency dump before the memory limit, as a pprof profile"},
		{rundir.OOMFolded, "the same, collapsed"},
		{rundir.RSSFile, "gofil's own readings of the program's resident memory"},
	}
	out := make([]fileLink, 0, len(files))
	for _, f := range files {
		// summary.json is written last, after the page.
		if st, err := os.Stat(filepath.Join(dir, f.Name)); f.Name == rundir.SummaryFile || err == nil && st.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	return out
}

// restLabel names the part of a heap that is not live: garbage awaiting
// collection, or, at the program's end after main returned, what was
// allocated after its last GC, not known to be either.
func restLabel(h *heap.Heap) string {
	if h.LiveFrom() {
		return "allocated after the last GC, not known"
	}
	return ""
}

// nonNil is s, or an empty list for the page's JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ledgerSeg is one part of the ledger's bar: its width in percent of the
// bar, its colour class and its text.
type ledgerSeg struct {
	Key, Label, What, BytesText string
	Width                       string
	Subtracted                  bool
}

// ledgerBar lays out the ledger l as a bar: what the runtime and the
// kernel count, each part as wide as its share of their sum; and the
// width of the resident set beside it, which is that less what was never
// resident.
func ledgerBar(l *summary.Ledger) ([]ledgerSeg, string) {
	parts := view.LedgerParts(l)
	var total int64
	for _, p := range parts {
		if !p.Subtracted {
			total += p.Bytes
		}
	}
	if total <= 0 {
		return nil, ""
	}
	segs := make([]ledgerSeg, 0, len(parts))
	for _, p := range parts {
		segs = append(segs, ledgerSeg{
			Key: strings.TrimSuffix(p.Key, "_bytes"), Label: p.Label, What: p.What,
			BytesText: units.Bytes(p.Bytes), Subtracted: p.Subtracted,
			Width: fmt.Sprintf("%.2f%%", 100*float64(p.Bytes)/float64(total)),
		})
	}
	return segs, fmt.Sprintf("%.2f%%", min(100, 100*float64(l.RSSBytes)/float64(total)))
}
