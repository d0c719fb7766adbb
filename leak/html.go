package leak

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/units"
)

var (
	//go:embed assets/leaks.html
	pageSource   string
	pageTemplate = template.Must(template.New("leaks").Funcs(template.FuncMap{
		"inc": func(i int) int { return i + 1 },
		"dec": func(x int) int { return x - 6 }, // the y axis labels' gap
	}).Parse(pageSource))
)

const (
	// maxCharts is how many suspects get a chart of their in-use bytes.
	maxCharts = 10
	// flameWidth fits the flamegraph into the page's sections.
	flameWidth = 1160
)

// WriteHTML writes the leak report page for s and r to w: one
// self-contained HTML document (no network; styles and scripts inline)
// with the suspects, a chart of the heap (and RSS) over time, a chart of
// in-use bytes over time for each of the top 10 suspects, the growth
// flamegraph and the churning sites. Every name is escaped.
//
//	res := series.Analyze()
//	s := res.Summary(url)
//	err := leak.WriteHTML(f, s, res)
func WriteHTML(w io.Writer, s *Summary, r *Result) error {
	d := page{
		URL:       s.URL,
		Snapshots: s.Snapshots,
		Duration:  seconds(s.DurationSeconds),
		HeapFirst: units.Bytes(s.HeapBytesFirst),
		HeapLast:  units.Bytes(s.HeapBytesLast),
		MinGrowth: units.Bytes(s.MinGrowthBytes),
		Ended:     s.Ended,
		Error:     s.Error,
		Suspects:  rows(s.Suspects),
		Churn:     rows(s.Churn),
		TooShort:  s.Verdict == VerdictTooShort,
		Note:      s.Note,

		MinSnapshots: r.MinSnapshots,
		MinR2:        strconv.FormatFloat(r.cfg.minR2, 'f', -1, 64),
		ChurnPercent: strconv.FormatFloat(100*ChurnRatio, 'f', -1, 64) + "%",
	}
	if !s.Started.IsZero() {
		d.Started = s.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	precision, advice := SamplingNote(s.MemProfileRate)
	d.Sampling, d.SamplingAdvice = sentence(precision), sentence(advice)
	secs := make([]float64, len(r.Offsets))
	for i, o := range r.Offsets {
		secs[i] = o.Seconds()
	}
	heap := series{Label: "Go heap in use (sampled)", Class: "heap", X: secs, Y: make([]float64, len(r.Heap))}
	for i, v := range r.Heap {
		heap.Y[i] = float64(v)
	}
	lines := []series{heap}
	if len(s.RSS) > 0 {
		rss := series{Label: "resident memory (RSS)", Class: "rss"}
		for _, p := range s.RSS {
			rss.X = append(rss.X, p.AtSeconds)
			rss.Y = append(rss.Y, float64(p.RSSBytes))
		}
		lines = append(lines, rss)
	}
	title := "Go heap in use"
	if len(s.RSS) > 0 {
		title = "Go heap in use and resident memory"
	}
	d.Charts = append(d.Charts, newChart(title, lines))
	for i, site := range r.Suspects {
		if i == maxCharts {
			break
		}
		y := make([]float64, len(site.Series))
		for j, v := range site.Series {
			y[j] = float64(v)
		}
		name := fmt.Sprintf("#%d %s (%s:%d)", i+1, site.Function, filepath.Base(site.File), site.Line)
		d.Charts = append(d.Charts, newChart(name, []series{{Label: "in use", Class: "site", X: secs, Y: y}}))
	}

	var fg bytes.Buffer
	err := flamegraph.Render(&fg, r.GrowthSamples(false), flamegraph.Options{
		ID:    "growth",
		Title: "In-use growth from the first snapshot to the last (stacks that grew)",
		Width: flameWidth,
	})
	if err != nil {
		return err
	}
	// flamegraph.Render escapes every name it writes.
	d.Flamegraph = template.HTML(fg.String())
	if err := pageTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("leak report: %w", err)
	}
	return nil
}

// GrowthSamples returns, as flamegraph samples, each stack that grew from
// the first snapshot to the last with its growth as its bytes; with shrunk,
// each stack that shrank with the bytes it lost.
//
//	err := flamegraph.Render(f, res.GrowthSamples(false), flamegraph.Options{Title: "Growth"})
func (r *Result) GrowthSamples(shrunk bool) []flamegraph.Sample {
	out := []flamegraph.Sample{}
	for _, st := range r.Stacks {
		b, o := st.GrowthBytes, st.GrowthObjects
		if shrunk {
			b, o = -b, -o
		}
		if b <= 0 {
			continue
		}
		stack := make([]flamegraph.Frame, len(st.Frames))
		for i, f := range st.Frames {
			stack[i] = flamegraph.Frame{Func: f.Func, File: f.File, Line: f.Line}
		}
		out = append(out, flamegraph.Sample{Stack: stack, Bytes: b, Objects: max(o, 0)})
	}
	return out
}

// page is what the template shows. Strings are escaped by html/template;
// Flamegraph holds SVG that flamegraph.Render escaped.
type page struct {
	URL, Started, Duration string
	Snapshots              int
	HeapFirst, HeapLast    string
	MinGrowth              string
	Ended, Error           string
	// TooShort is a watch of fewer than MinSnapshots profiles; Note says
	// how long to watch.
	TooShort bool
	Note     string
	// Sampling and SamplingAdvice are [SamplingNote]'s clauses, as
	// sentences.
	Sampling, SamplingAdvice string
	Suspects, Churn          []row
	Charts                   []chart
	Flamegraph               template.HTML
	MinSnapshots             int
	MinR2, ChurnPercent      string
}

type row struct {
	Function, Location, File             string
	Growth, Rate, Allocated, First, Last string
	Objects                              string
	Steadiness, Monotonicity, R2         string
}

func rows(sites []Site) []row {
	out := []row{}
	for _, s := range sites {
		out = append(out, row{
			Function:     s.Function,
			Location:     fmt.Sprintf("%s:%d", filepath.Base(s.File), s.Line),
			File:         s.File,
			Growth:       units.Signed(s.GrowthBytes),
			Rate:         units.Bytes(int64(s.BytesPerSecond)) + "/s",
			Allocated:    units.Bytes(s.AllocatedBytes),
			First:        units.Bytes(s.InuseBytesFirst),
			Last:         units.Bytes(s.InuseBytesLast),
			Objects:      fmt.Sprintf("%+d", s.GrowthObjects),
			Steadiness:   fmt.Sprintf("%.0f%%", 100*s.Steadiness),
			Monotonicity: fmt.Sprintf("%.2f", s.Monotonicity),
			R2:           fmt.Sprintf("%.3f", s.R2),
		})
	}
	return out
}

// series is one line of a chart.
type series struct {
	Label, Class string
	X, Y         []float64
}

// chart is a line chart, laid out in pixels for the template.
type chart struct {
	Title          string
	Width, Height  int
	Left, Right    int
	Top, Bottom    int
	Lines          []chartLine
	XTicks, YTicks []tick
}

type chartLine struct {
	Label, Class, Max string
	Points            string
	Dots              []dot
}

type dot struct{ X, Y string }

type tick struct {
	Pos   string
	Label string
}

// Geometry of a chart, in pixels.
const (
	chartWidth  = 720
	chartHeight = 200
	chartLeft   = 76
	chartRight  = 16
	chartTop    = 12
	chartBottom = 30
	maxDots     = 80
)

func newChart(title string, lines []series) chart {
	c := chart{
		Title: title, Width: chartWidth, Height: chartHeight,
		Left: chartLeft, Right: chartWidth - chartRight, Top: chartTop, Bottom: chartHeight - chartBottom,
	}
	var xMax, yMax float64
	for _, l := range lines {
		for i := range l.X {
			xMax = max(xMax, l.X[i])
			yMax = max(yMax, l.Y[i])
		}
	}
	if xMax <= 0 {
		xMax = 1
	}
	yMax = niceCeil(yMax)
	px := func(x float64) float64 { return chartLeft + x/xMax*float64(c.Right-c.Left) }
	py := func(y float64) float64 { return float64(c.Bottom) - y/yMax*float64(c.Bottom-c.Top) }
	for _, l := range lines {
		cl := chartLine{Label: l.Label, Class: l.Class}
		var pts []byte
		var top float64
		for i := range l.X {
			x, y := coord(px(l.X[i])), coord(py(l.Y[i]))
			pts = append(pts, x...)
			pts = append(pts, ',')
			pts = append(pts, y...)
			pts = append(pts, ' ')
			if len(l.X) <= maxDots {
				cl.Dots = append(cl.Dots, dot{x, y})
			}
			top = max(top, l.Y[i])
		}
		cl.Points = string(bytes.TrimSpace(pts))
		cl.Max = units.Bytes(int64(top))
		c.Lines = append(c.Lines, cl)
	}
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		c.YTicks = append(c.YTicks, tick{Pos: coord(py(v)), Label: units.Bytes(int64(v))})
		t := xMax * float64(i) / 4
		c.XTicks = append(c.XTicks, tick{Pos: coord(px(t)), Label: axisSeconds(t, xMax)})
	}
	return c
}

// niceCeil rounds v up to 1, 2, 4 or 8 times a power of ten of its
// binary unit (KiB, MiB, ...), so that the labels of the axis, at quarters,
// read well; 0 becomes 1 KiB.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1024
	}
	unit := 1.0
	for v/unit >= 1024 {
		unit *= 1024
	}
	for _, m := range []float64{1, 2, 4, 8, 10, 20, 40, 80, 100, 200, 400, 800, 1000} {
		if v <= m*unit {
			return m * unit
		}
	}
	return 1024 * unit
}

// axisSeconds labels the time axis: tenths of a second for short watches,
// whole seconds or minutes and seconds for longer ones.
func axisSeconds(t, xMax float64) string {
	switch {
	case xMax < 20:
		return strconv.FormatFloat(t, 'f', 1, 64) + "s"
	case xMax < 300:
		return strconv.FormatFloat(t, 'f', 0, 64) + "s"
	}
	return time.Duration(t * float64(time.Second)).Round(time.Second).String()
}

// sentence makes a clause a sentence: a capital first and a full stop
// last; "" stays "".
func sentence(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
