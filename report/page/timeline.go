package page

import (
	"fmt"
	"html"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
	"github.com/gofil/gofil/report/view"
)

// Geometry of the timeline chart, in pixels of its viewBox.
const (
	tlWidth  = 1200
	tlHeight = 320
	tlLeft   = 80 // room for the memory axis
	tlRight  = 20
	tlTop    = 14
	tlBottom = 40 // room for the time axis
	tlPlotW  = tlWidth - tlLeft - tlRight
	tlPlotH  = tlHeight - tlTop - tlBottom
	// tlYUnits is the height of the plot in its own coordinates: a value
	// v is drawn at tlYUnits*(1-v/yMax).
	tlYUnits = 1000
	// tlMaxPoints is the most points a series is drawn with. The tracker
	// samples every 20 ms, so a run of up to 80 s keeps every point; longer
	// runs keep each bucket's largest value, so no short peak is lost.
	tlMaxPoints = 4000
)

// timeline is the memory timeline chart and the data the page's script
// reads for its readout and zoom.
type timeline struct {
	SVG    string
	Data   timelineData
	Legend []legendItem
	// Note says what the chart could not show.
	Note string
}

type legendItem struct {
	Class, Label, Value string
}

// timelineData is fed to the page as JSON; no slice is nil.
type timelineData struct {
	XMax    float64   `json:"xmax"` // milliseconds
	YMax    float64   `json:"ymax"` // bytes
	T       []float64 `json:"t"`    // milliseconds since the program started
	RSS     []uint64  `json:"rss"`
	Heap    []uint64  `json:"heap"`
	Outside []uint64  `json:"outside"`
	// Beyond is the runtime's memory beyond its heap objects: free and
	// unused heap, stacks, its own structures (the ledger's classes).
	Beyond []uint64 `json:"beyond"`
	// ExtT and ExtRSS are gofil's own readings of the RSS, from outside.
	ExtT   []float64 `json:"ext_t"`
	ExtRSS []uint64  `json:"ext_rss"`
	// Marks are the moments drawn as vertical lines.
	Marks []timelineMark `json:"marks"`
}

type timelineMark struct {
	Ms    float64 `json:"ms"`
	Label string  `json:"label"`
	Class string  `json:"class"`
}

// buildTimeline draws RSS, Go heap and memory outside the heap over the
// run from the tracker's timeline, gofil's own RSS readings as a thin
// fourth line, the peak and the memory limit. It returns nil when there is
// nothing to draw.
func buildTimeline(meta rundir.Meta, s *summary.Summary, run *rundir.Run, vm *view.Report) *timeline {
	var tl []rundir.TimelinePoint
	if run != nil {
		tl = run.Timeline
	}
	if len(tl) == 0 && len(meta.RSS) == 0 {
		return nil
	}
	d := timelineSeries(tl, meta, s)
	d.Marks = timelineMarks(s, vm)
	for _, m := range d.Marks {
		d.XMax = math.Max(d.XMax, m.Ms)
	}
	if d.XMax <= 0 {
		d.XMax = 1000
	}
	out := &timeline{}
	sc := newTimelineScale(d, vm.Limit.Bytes) // the source is in the figures above the chart
	if !sc.drawLimit && sc.limit > 0 {
		out.Note = fmt.Sprintf("The memory limit, %s, is more than twice the largest value and is not drawn.", units.Bytes(int64(sc.limit)))
	}
	d.YMax = sc.yMax
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="gofil-timeline" id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="Memory over the run">`,
		tlWidth, tlHeight, tlWidth, tlHeight)
	b.WriteString("\n")
	fmt.Fprintf(&b, `<rect class="tl-bg" x="%d" y="%d" width="%d" height="%d"/>`+"\n", tlLeft, tlTop, tlPlotW, tlPlotH)
	drawTimelineAxes(&b, d, sc)
	drawTimelinePlot(&b, d, sc)
	drawTimelineLabels(&b, d, sc)
	b.WriteString("</svg>\n")
	out.SVG = b.String()
	out.Data = d
	out.Legend = timelineLegend(d, sc)
	return out
}

// timelineSeries is the timeline's data but for its marks and its memory
// axis: the tracker's readings with the peak's own figures among them,
// gofil's own RSS readings, each downsampled, and the time axis's extent.
func timelineSeries(tl []rundir.TimelinePoint, meta rundir.Meta, s *summary.Summary) timelineData {
	d := timelineData{T: []float64{}, RSS: []uint64{}, Heap: []uint64{}, Outside: []uint64{}, Beyond: []uint64{},
		ExtT: []float64{}, ExtRSS: []uint64{}, Marks: []timelineMark{}}
	t := make([]float64, len(tl))
	rss := make([]uint64, len(tl))
	heap := make([]uint64, len(tl))
	outside := make([]uint64, len(tl))
	beyond := make([]uint64, len(tl))
	for i, p := range tl {
		t[i], rss[i], heap[i], outside[i], beyond[i] = ms(p.At), p.RSS, p.Heap, p.Outside(), p.Beyond()
	}
	t, rss, heap, outside, beyond = withPeak(s, t, rss, heap, outside, beyond)
	var series [][]uint64
	d.T, series = bucketMax(t, [][]uint64{rss, heap, outside, beyond})
	d.RSS, d.Heap, d.Outside, d.Beyond = series[0], series[1], series[2], series[3]
	et := make([]float64, len(meta.RSS))
	erss := make([]uint64, len(meta.RSS))
	for i, p := range meta.RSS {
		et[i], erss[i] = ms(p.At), p.RSS
	}
	d.ExtT, d.ExtRSS = downsample2(et, erss)
	for _, v := range append(d.T, d.ExtT...) {
		d.XMax = math.Max(d.XMax, v)
	}
	d.XMax = math.Max(d.XMax, ms(meta.Duration))
	return d
}

// timelineMarks are the moments drawn as vertical lines: the peak and the
// last emergency dump.
func timelineMarks(s *summary.Summary, vm *view.Report) []timelineMark {
	marks := []timelineMark{}
	if s != nil && s.Peak != nil && s.Peak.HeapBytes > 0 {
		marks = append(marks, timelineMark{Ms: s.Peak.AtSeconds * 1000, Class: "tl-peak",
			Label: "peak, Go heap " + units.Bytes(vm.Heap.Bytes)})
	}
	if s != nil && s.OOM != nil && s.OOM.Dumps > 0 {
		marks = append(marks, timelineMark{Ms: s.OOM.AtSeconds * 1000, Class: "tl-oom",
			Label: "emergency dump before the limit"})
	}
	return marks
}

// timelineScale is the timeline's memory axis: its top, its step and the
// step's unit, and the memory limit, drawn when it is at most twice the
// largest value.
type timelineScale struct {
	yMax, yStep, yUnit float64
	yUnitName          string
	limit              uint64
	drawLimit          bool
}

func newTimelineScale(d timelineData, limit uint64) timelineScale {
	var dataMax uint64
	for _, series := range [][]uint64{d.RSS, d.Heap, d.Outside, d.Beyond, d.ExtRSS} {
		for _, v := range series {
			dataMax = max(dataMax, v)
		}
	}
	sc := timelineScale{yMax: float64(dataMax), limit: limit}
	sc.drawLimit = limit > 0 && float64(limit) <= 2*sc.yMax
	if sc.drawLimit {
		sc.yMax = math.Max(sc.yMax, float64(limit))
	}
	sc.yStep, sc.yUnit, sc.yUnitName = niceBytesStep(sc.yMax / 5)
	sc.yMax = math.Max(sc.yStep, math.Ceil(sc.yMax*1.04/sc.yStep)*sc.yStep)
	return sc
}

// y is where v is drawn in the plot's own coordinates.
func (sc timelineScale) y(v uint64) float64 { return tlYUnits * (1 - float64(v)/sc.yMax) }

// drawTimelineAxes draws the memory axis with its grid and the time axis,
// which the script draws again when zooming.
func drawTimelineAxes(b *strings.Builder, d timelineData, sc timelineScale) {
	b.WriteString(`<g class="tl-yaxis">`)
	for v := 0.0; v <= sc.yMax+sc.yStep/2; v += sc.yStep {
		y := tlTop + tlPlotH*(1-v/sc.yMax)
		fmt.Fprintf(b, `<line class="tl-grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, tlLeft, tlLeft+tlPlotW, coord(y), coord(y))
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end">%s %s</text>`, tlLeft-6, coord(y+4), trimFloat(v/sc.yUnit), sc.yUnitName)
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g class="tl-xaxis">`)
	for _, tick := range timeTicks(0, d.XMax) {
		x := tlLeft + tlPlotW*tick.ms/d.XMax
		fmt.Fprintf(b, `<line class="tl-tick" x1="%s" x2="%s" y1="%d" y2="%d"/>`, coord(x), coord(x), tlTop+tlPlotH, tlTop+tlPlotH+5)
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`, coord(x), tlTop+tlPlotH+18, tick.label)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(b, `<text class="tl-axis-title" x="%d" y="%d" text-anchor="middle">time since the program started</text>`+"\n", tlLeft+tlPlotW/2, tlHeight-4)
}

// drawTimelinePlot draws the series, the marks and the limit in the plot,
// in data coordinates: milliseconds across, tlYUnits down.
func drawTimelinePlot(b *strings.Builder, d timelineData, sc timelineScale) {
	fmt.Fprintf(b, `<svg class="tl-plot" x="%d" y="%d" width="%d" height="%d" viewBox="0 0 %s %d" preserveAspectRatio="none">`+"\n",
		tlLeft, tlTop, tlPlotW, tlPlotH, coord(d.XMax), tlYUnits)
	if len(d.T) > 0 {
		// The Go heap as an area, the others as lines over it.
		b.WriteString(`<path class="tl-heap-area" d="M`)
		b.WriteString(coord(d.T[0]) + "," + strconv.Itoa(tlYUnits))
		for i := range d.T {
			b.WriteString("L" + coord(d.T[i]) + "," + coord(sc.y(d.Heap[i])))
		}
		b.WriteString("L" + coord(d.T[len(d.T)-1]) + "," + strconv.Itoa(tlYUnits) + `Z"/>` + "\n")
		polyline(b, "tl-outside", d.T, d.Outside, sc.y)
		if maxOf(d.Beyond) > 0 {
			polyline(b, "tl-beyond", d.T, d.Beyond, sc.y)
		}
		polyline(b, "tl-heap", d.T, d.Heap, sc.y)
		polyline(b, "tl-rss", d.T, d.RSS, sc.y)
	}
	if len(d.ExtT) > 0 {
		polyline(b, "tl-ext", d.ExtT, d.ExtRSS, sc.y)
	}
	for _, m := range d.Marks {
		fmt.Fprintf(b, `<line class="%s" x1="%s" x2="%s" y1="0" y2="%d" vector-effect="non-scaling-stroke"/>`+"\n",
			m.Class, coord(m.Ms), coord(m.Ms), tlYUnits)
	}
	if sc.drawLimit {
		ly := sc.y(sc.limit)
		fmt.Fprintf(b, `<line class="tl-limit" x1="0" x2="%s" y1="%s" y2="%s" vector-effect="non-scaling-stroke"/>`+"\n",
			coord(d.XMax), coord(ly), coord(ly))
	}
	b.WriteString("</svg>\n")
}

// drawTimelineLabels draws the labels of the marks and the limit outside
// the stretched plot, so that they keep their shape (the script moves the
// marks' labels when zooming), the readout's cursor and the zoom
// selection, which the script moves.
func drawTimelineLabels(b *strings.Builder, d timelineData, sc timelineScale) {
	for i, m := range d.Marks {
		x := tlLeft + tlPlotW*m.Ms/d.XMax
		anchor := "start"
		if x > tlLeft+tlPlotW*0.8 {
			anchor = "end"
			x -= 4
		} else {
			x += 4
		}
		fmt.Fprintf(b, `<text class="tl-mark-label %s-label" data-mark="%d" x="%s" y="%d" text-anchor="%s">%s</text>`+"\n",
			m.Class, i, coord(x), tlTop+12+14*i, anchor, html.EscapeString(m.Label))
	}
	if sc.drawLimit {
		ly := tlTop + tlPlotH*(1-float64(sc.limit)/sc.yMax)
		label := "memory limit " + units.Bytes(int64(sc.limit))
		fmt.Fprintf(b, `<text class="tl-limit-label" x="%d" y="%s" text-anchor="end">%s</text>`+"\n",
			tlLeft+tlPlotW-4, coord(ly-4), html.EscapeString(label))
	}
	fmt.Fprintf(b, `<line class="tl-cursor" x1="0" x2="0" y1="%d" y2="%d" visibility="hidden"/>`+"\n", tlTop, tlTop+tlPlotH)
	fmt.Fprintf(b, `<rect class="tl-select" x="0" y="%d" width="0" height="%d" visibility="hidden"/>`+"\n", tlTop, tlPlotH)
	fmt.Fprintf(b, `<rect class="tl-hit" x="%d" y="%d" width="%d" height="%d"/>`+"\n", tlLeft, tlTop, tlPlotW, tlPlotH)
}

// timelineLegend is the legend under the chart: each series with its
// largest value, the limit, the marks.
func timelineLegend(d timelineData, sc timelineScale) []legendItem {
	var legend []legendItem
	if len(d.T) > 0 {
		legend = append(legend,
			legendItem{"tl-rss", "resident memory (RSS)", "max " + units.Bytes(int64(maxOf(d.RSS)))},
			legendItem{"tl-heap", "Go heap", "max " + units.Bytes(int64(maxOf(d.Heap)))},
			legendItem{"tl-outside", "outside the Go heap", "max " + units.Bytes(int64(maxOf(d.Outside)))})
		if m := maxOf(d.Beyond); m > 0 {
			legend = append(legend, legendItem{"tl-beyond", "Go runtime beyond the heap's objects: free and unused heap, stacks, metadata", "max " + units.Bytes(int64(m))})
		}
	}
	if len(d.ExtT) > 0 {
		legend = append(legend, legendItem{"tl-ext", "RSS read by gofil from outside", "max " + units.Bytes(int64(maxOf(d.ExtRSS)))})
	}
	if sc.drawLimit {
		legend = append(legend, legendItem{"tl-limit", "memory limit", units.Bytes(int64(sc.limit))})
	}
	for _, m := range d.Marks {
		legend = append(legend, legendItem{Class: m.Class, Label: m.Label})
	}
	return legend
}

func polyline(b *strings.Builder, class string, t []float64, v []uint64, y func(uint64) float64) {
	fmt.Fprintf(b, `<polyline class="%s" vector-effect="non-scaling-stroke" points="`, class)
	for i := range t {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(coord(t[i]))
		b.WriteByte(',')
		b.WriteString(coord(y(v[i])))
	}
	b.WriteString(`"/>` + "\n")
}

func maxOf(v []uint64) uint64 {
	var m uint64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e5) / 10 // to 0.1 ms
}

// downsample returns the series unchanged when they have at most
// tlMaxPoints points; otherwise it groups consecutive points into
// tlMaxPoints buckets and keeps each bucket's first time and each series'
// largest value, so that short peaks survive.
func downsample2(t []float64, v []uint64) ([]float64, []uint64) {
	outT, out := bucketMax(t, [][]uint64{v})
	return outT, out[0]
}

func bucketMax(t []float64, series [][]uint64) ([]float64, [][]uint64) {
	n := len(t)
	if n <= tlMaxPoints {
		return t, series
	}
	k := (n + tlMaxPoints - 1) / tlMaxPoints
	outT := make([]float64, 0, n/k+1)
	out := make([][]uint64, len(series))
	for i := range out {
		out[i] = make([]uint64, 0, n/k+1)
	}
	for start := 0; start < n; start += k {
		end := min(start+k, n)
		outT = append(outT, t[start])
		for i, s := range series {
			m := s[start]
			for _, v := range s[start+1 : end] {
				m = max(m, v)
			}
			out[i] = append(out[i], m)
		}
	}
	return outT, out
}

// niceBytesStep returns a step for a memory axis near rough bytes: 1, 2,
// 2.5 or 5 times a power of ten of a binary unit, the unit in bytes and
// its name.
func niceBytesStep(rough float64) (step, unit float64, name string) {
	unit, name = 1, "B"
	for _, u := range []struct {
		v    float64
		name string
	}{{1 << 10, "KiB"}, {1 << 20, "MiB"}, {1 << 30, "GiB"}, {1 << 40, "TiB"}} {
		if rough >= u.v {
			unit, name = u.v, u.name
		}
	}
	return niceStep(rough/unit, 1, 2, 2.5, 5) * unit, unit, name
}

// niceStep rounds rough up to one of mults (ascending, between 1 and 10)
// times a power of ten.
func niceStep(rough float64, mults ...float64) float64 {
	if rough <= 0 || math.IsNaN(rough) || math.IsInf(rough, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(rough)))
	for _, m := range append(mults, 10) {
		if m*p >= rough*0.999 {
			return m * p
		}
	}
	return 10 * p
}

type timeTick struct {
	ms    float64
	label string
}

// timeTicks returns about eight evenly spaced ticks between from and to,
// in milliseconds: 1, 2 or 5 times a power of ten apart, so that
// timeLabel's decimals suffice. The page's script (ticks in report.js)
// must stay in step.
func timeTicks(from, to float64) []timeTick {
	step := niceStep((to-from)/8, 1, 2, 5)
	var ticks []timeTick
	for v := math.Ceil(from/step) * step; v <= to+step*1e-9; v += step {
		ticks = append(ticks, timeTick{ms: v, label: timeLabel(v, step)})
	}
	return ticks
}

// timeLabel formats a tick: seconds with as many decimals as the step
// needs, or milliseconds for steps under a millisecond.
func timeLabel(v, step float64) string {
	if step < 1 {
		return trimFloat(math.Round(v*1000)/1000) + " ms"
	}
	decimals := 0
	for s := step; s < 1000 && decimals < 3; s *= 10 {
		decimals++
	}
	return strconv.FormatFloat(v/1000, 'f', decimals, 64) + " s"
}

func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// coord formats a coordinate with at most one decimal.
func coord(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// withPeak adds the peak's own figures to the readings, in time order, so
// that the lines pass through the peak's values at its moment: readings are
// taken every 20 ms, the peak's heap is that of the instant of a GC's mark.
func withPeak(s *summary.Summary, t []float64, rss, heap, outside, beyond []uint64) ([]float64, []uint64, []uint64, []uint64, []uint64) {
	if s == nil || s.Peak == nil || s.Peak.HeapBytesExact == 0 || s.Peak.RSSAtPeakBytes == 0 || len(t) == 0 {
		return t, rss, heap, outside, beyond
	}
	at := s.Peak.AtSeconds * 1000
	i := sort.SearchFloat64s(t, at)
	t = slices.Insert(t, i, at)
	rss = slices.Insert(rss, i, s.Peak.RSSAtPeakBytes)
	heap = slices.Insert(heap, i, s.Peak.HeapBytesExact)
	outside = slices.Insert(outside, i, s.Peak.OutsideHeapBytes)
	// The runtime's memory beyond objects at the peak is the ledger's, or
	// the reading's before it.
	var b uint64
	if l := s.Peak.Ledger; l != nil {
		b = l.HeapFreeBytes + l.HeapUnusedBytes + l.StacksBytes + l.RuntimeBytes
	} else if i > 0 {
		b = beyond[i-1]
	}
	beyond = slices.Insert(beyond, i, b)
	return t, rss, heap, outside, beyond
}
