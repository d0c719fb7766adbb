package page

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"slices"

	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

const (
	// pageMomentsMax bounds the moments the page can show besides the
	// peak, picked evenly from the tracker's.
	pageMomentsMax = 24
	// momentBudget bounds one moment's flamegraph, and momentsBudget all
	// of them: the page stays under 10 MB with the peak's graphs, the
	// timeline and the call graph.
	momentBudget  = 256 << 10
	momentsBudget = 3 << 20
	// momentSites is how many allocation sites the table shows at a
	// moment.
	momentSites = 30
)

// pageMoment is one GC mark the page can show in place of the peak.
type pageMoment struct {
	// Index names its template (moment-Index); Flame is its flamegraph.
	Index int
	Flame template.HTML
}

// momentData is what the page's script knows of a moment.
type momentData struct {
	Index int     `json:"i"`
	Cycle uint32  `json:"cycle"`
	MS    float64 `json:"ms"`
	// Peak marks the peak's own mark: the graphs already on the page.
	Peak  bool         `json:"peak,omitempty"`
	Bytes int64        `json:"bytes"`
	Live  int64        `json:"live"`
	Text  string       `json:"text"`
	Sites []momentSite `json:"sites"`
}

type momentSite struct {
	Function string `json:"f"`
	Short    string `json:"s"`
	Location string `json:"l"`
	File     string `json:"p"`
	Bytes    int64  `json:"b"`
	Live     int64  `json:"v"`
	Objects  int64  `json:"o"`
	User     bool   `json:"u,omitempty"`
}

// pageMoments renders the moments the page can show: up to
// pageMomentsMax of the run's, evenly spread, each a flamegraph (merged
// more than the peak's if need be, to stay within momentBudget) and its
// largest sites; the peak's own mark is listed without a graph of its own.
// Once momentsBudget is spent, only the peak's mark is still listed, and
// no other is decoded. It returns the templates and the script's JSON, nil
// when the run has no moments.
func pageMoments(run *rundir.Run, user *userCode, src *sourceCache) ([]pageMoment, template.JS, error) {
	times := run.MarkTimes()
	if len(times) == 0 || run.Peak == nil {
		return nil, "", nil
	}
	peakCycle := run.Peak.Raw.Cycle
	var (
		out   []pageMoment
		data  = []momentData{}
		spent int
	)
	// listed is what the page's script knows of m.
	listed := func(m rundir.Mark) momentData {
		d := momentData{Index: len(data), Cycle: m.Cycle, MS: float64(m.At.Microseconds()) / 1000, Bytes: m.Heap.Bytes, Live: m.Heap.LiveBytes()}
		d.Text = fmt.Sprintf("GC %d's mark, %.2f s into the run", m.Cycle, m.At.Seconds())
		for _, s := range m.Heap.TopSites(momentSites) {
			d.Sites = append(d.Sites, momentSite{
				Function: s.Function, Short: flamegraph.ShortName(s.Function), Location: siteLocation(s), File: s.File,
				Bytes: s.Bytes, Live: s.LiveBytes, Objects: s.Objects,
				User: user != nil && user.IsUser(flamegraph.Frame{Func: s.Function, File: s.File, Line: s.Line}),
			})
		}
		return d
	}
	isPeak := func(cycle uint32) bool {
		return cycle == peakCycle && summary.Moment(run.Peak.Raw.Reason) == summary.MomentGC
	}
	rest := rundir.Spread(len(times), pageMomentsMax)
	for m := range run.Marks(rest) {
		rest = rest[1:]
		if isPeak(m.Cycle) {
			d := listed(m)
			d.Peak = true
			data = append(data, d)
			continue
		}
		if spent >= momentsBudget {
			break
		}
		if len(m.Heap.Stacks) == 0 {
			continue
		}
		d := listed(m)
		svg, err := momentFlame(m, d.Index, user, src)
		if errors.Is(err, errFlameTooBig) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		spent += len(svg)
		out = append(out, pageMoment{Index: d.Index, Flame: template.HTML(svg)})
		data = append(data, d)
	}
	// Once the budget is spent, of the other marks only the peak's own is
	// listed: the others are not decoded.
	rest = slices.DeleteFunc(rest, func(i int) bool { return !isPeak(run.RawMoments.Moments[i].Cycle) })
	for m := range run.Marks(rest) {
		d := listed(m)
		d.Peak = true
		data = append(data, d)
	}
	if len(data) == 0 {
		return nil, "", nil
	}
	js, err := json.Marshal(data)
	if err != nil {
		return nil, "", err
	}
	return out, template.JS(js), nil
}

// momentFlame renders m's flamegraph, merging narrow frames more until it
// fits momentBudget. m.Heap is no longer needed once its samples are made.
// Source lines are read through src.
func momentFlame(m rundir.Mark, index int, user *userCode, src *sourceCache) (string, error) {
	samples := flameSamples(m.Heap, src)
	title := fmt.Sprintf("Go heap at GC %d's mark, %.2f s, as sampled: %s", m.Cycle, m.At.Seconds(), units.Bytes(m.Heap.Bytes))
	m.Heap = nil
	var b cappedBuffer
	_, err := fitted(2*flamegraph.DefaultMinWidth, 5, func(minWidth float64) error {
		b = cappedBuffer{limit: momentBudget}
		return flamegraph.RenderStacks(&b, samples, flamegraph.Options{
			ID:         fmt.Sprintf("m%d", index),
			Title:      title,
			IsUserCode: user.IsUser, MinWidth: minWidth,
		})
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}
