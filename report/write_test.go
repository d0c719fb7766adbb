package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/internal/fixture"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
	"github.com/gofil/gofil/report/view"
)

// TestWriteHTMLEscapes checks that no name from the profile reaches the
// page unescaped: function and file names, the command and a note all
// hold a <script> element, quotes and ampersands.
func TestWriteHTMLEscapes(t *testing.T) {
	dir := t.TempDir()
	meta, run := fixture.EvilRun()
	if _, err := WriteDir(dir, meta, run, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, rundir.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	if i := strings.Index(strings.ToLower(page), "<script>alert"); i >= 0 {
		t.Fatalf("index.html holds a raw <script>alert at byte %d: %q", i, page[max(0, i-200):min(len(page), i+100)])
	}
	// The page's own scripts are the flamegraphs' two, its own and the
	// timeline's data: nothing else opens a script element.
	if n := strings.Count(strings.ToLower(page), "<script"); n != 4 {
		t.Errorf("index.html opens %d script elements, want 4", n)
	}
	for _, want := range []string{
		"&lt;script&gt;alert",       // escaped in HTML text and SVG
		`id="peak"`, `id="peakrev"`, // both flamegraphs
		`id="timeline"`, `class="graph"`, // the timeline and graphviz's call graph
		`id="sites-table"`, `href="peak.pb.gz"`, `href="peak.folded"`,
		"go tool pprof -http=: peak.pb.gz",
		"memory limit 1.00 GiB",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(page, "http://") && strings.Contains(page, "<link rel=\"stylesheet\"") {
		t.Error("index.html loads a stylesheet")
	}
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[1], ":") && !strings.HasPrefix(m[1], "data:") {
			t.Errorf("index.html refers to %q: the page must need no network", m[1])
		}
	}
}

// TestWriteHTMLWithoutPeak renders runs that recorded no heap: a prebuilt
// binary watched from outside, and a run that recorded nothing at all.
func TestWriteHTMLWithoutPeak(t *testing.T) {
	for _, c := range []struct {
		name string
		meta rundir.Meta
		want []string
	}{
		{"prebuilt", rundir.Meta{Target: "./job", NoSource: true, MaxRSS: 300 << 20, Duration: time.Second,
			RSS: []rundir.RSSPoint{{At: 0, RSS: 10 << 20}, {At: 500 * time.Millisecond, RSS: 300 << 20}, {At: time.Second, RSS: 20 << 20}}},
			[]string{`id="timeline"`, "prebuilt binary", "300.0 MiB", `"t":[]`}},
		{"nothing", rundir.Meta{Target: "./job"}, []string{"No timeline was recorded", "No allocation sites were recorded"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			run := &rundir.Run{}
			if _, err := WriteDir(dir, c.meta, run, nil); err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(filepath.Join(dir, rundir.HTMLFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(string(page), w) {
					t.Errorf("index.html lacks %q", w)
				}
			}
			for _, bad := range []string{`id="peak"`, ":null", "peak.pb.gz</a>"} {
				if strings.Contains(string(page), bad) {
					t.Errorf("index.html holds %q", bad)
				}
			}
		})
	}
}

// TestIncompleteReportSaysSo: when the page cannot be written, summary.json
// is still written, and its first field says the report is not complete
// and why; WriteDir returns the error.
func TestIncompleteReportSaysSo(t *testing.T) {
	dir := t.TempDir()
	// A directory where the page goes: renaming the page into place fails.
	if err := os.MkdirAll(filepath.Join(dir, rundir.HTMLFile, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := WriteDir(dir, rundir.Meta{Target: "./job"}, &rundir.Run{}, nil)
	if err == nil {
		t.Fatal("WriteDir reported no error")
	}
	data, rerr := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if rerr != nil {
		t.Fatalf("no summary.json: %v", rerr)
	}
	first := strings.SplitN(string(data), "\n", 3)
	if len(first) < 2 || !strings.HasPrefix(strings.TrimSpace(first[1]), `"incomplete": "writing the report page`) {
		t.Errorf("summary.json begins %q, want the incomplete field first", first[:min(2, len(first))])
	}
}

// TestApproximatePeakSaysSo: a peak from a pair across GC cycles the
// tracker did not see one by one is an upper bound, with a reading among
// those cycles as the least the heap was. The summary, the text on stderr
// and the page each say "at most", and give both figures.
func TestApproximatePeakSaysSo(t *testing.T) {
	meta, run := fixture.SyntheticRun(10, false)
	r := &run.Peak.Raw
	r.Approximate = true
	r.ExactBytes, r.LeastBytes, r.LeastAtNS = 64<<20, 48<<20, int64(1200*time.Millisecond)
	s := summary.Build(meta, run)
	p := s.Peak
	if p == nil || !p.Approximate || p.LowerBoundBytes != 48<<20 || p.HeapBytesExact != 64<<20 {
		t.Fatalf("summary's peak: %+v", p)
	}
	notes := strings.Join(s.Notes, "\n")
	if !strings.Contains(notes, "upper bound") || !strings.Contains(notes, "at least that and at most 64.0 MiB") || !strings.Contains(notes, "48.0 MiB (1.20s)") {
		t.Errorf("notes %q", notes)
	}
	var text bytes.Buffer
	Text(&text, s, "report")
	if !strings.Contains(text.String(), "Go heap at its peak at most ") || !strings.Contains(text.String(), "(runtime: 48.0 MiB to 64.0 MiB)") {
		t.Errorf("text %q", text.String())
	}
	if h := view.New(meta, s, run).Headline; !strings.HasPrefix(h, "At most ") {
		t.Errorf("headline %q", h)
	}
}

// TestOwnHeapSaid: the tracker's own heap at the peak is said beside the
// Go heap that counts it, on stderr and on the page: "of which gofil's
// own", beside the runtime's figure, or, when that is not known, beside
// the sampled heap with it.
func TestOwnHeapSaid(t *testing.T) {
	for _, exact := range []uint64{64 << 20, 0} {
		meta, run := fixture.SyntheticRun(10, false)
		run.Peak.Raw.ExactBytes = exact
		run.Peak.TrackerBytes = 5 << 20
		s := summary.Build(meta, run)
		if s.Peak.TrackerBytes != 5<<20 {
			t.Fatalf("peak.tracker_bytes = %d", s.Peak.TrackerBytes)
		}
		want := "(runtime: 64.0 MiB, of which gofil's own: 5.0 MiB)"
		if exact == 0 {
			want = "(runtime: unknown; sampled " + units.Bytes(s.Peak.HeapBytes+5<<20) + ", of which gofil's own: 5.0 MiB)"
			if view.PeakHeap(s.Peak).Bytes != s.Peak.HeapBytes+5<<20 {
				t.Errorf("the page's heap %d leaves out gofil's own %d", view.PeakHeap(s.Peak).Bytes, 5<<20)
			}
		}
		var text bytes.Buffer
		Text(&text, s, "report")
		if !strings.Contains(text.String(), want) {
			t.Errorf("text %q, want %q", text.String(), want)
		}
		found := false
		for _, f := range view.New(meta, s, run).Figures {
			found = found || f.Label == "Go heap at the peak" && f.Value == units.Bytes(view.PeakHeap(s.Peak).Bytes) && strings.Contains(f.Detail, "of which gofil's own: 5.0 MiB")
		}
		if !found {
			t.Errorf("the page says nothing of gofil's own heap beside the Go heap at the peak: %+v", view.New(meta, s, run).Figures)
		}
	}
}
