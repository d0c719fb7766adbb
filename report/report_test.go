package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// TestLimitCardOnlyForRealLimits: a cgroup limit gets its card; the host's
// memory, which no one set as a limit, is context in the RSS card.
func TestLimitCardOnlyForRealLimits(t *testing.T) {
	for _, c := range []struct {
		source string
		card   bool
	}{{"cgroup v2 /sys/fs/cgroup/job/memory.max", true}, {"host MemAvailable", false}} {
		run := &rundir.Run{Start: &raw.Start{LimitBytes: 1 << 30, LimitSource: c.source}}
		meta := rundir.Meta{MaxRSS: 100 << 20}
		s := summary.Build(meta, run)
		var limitCard bool
		var rssDetail string
		for _, f := range figures(meta, s, run) {
			if f.Label == "Memory limit" {
				limitCard = true
			}
			if f.Label == "Peak RSS" {
				rssDetail = f.Detail
			}
		}
		if limitCard != c.card {
			t.Errorf("%s: a memory limit card %v, want %v", c.source, limitCard, c.card)
		}
		if !c.card && !strings.Contains(rssDetail, "no memory limit was set") {
			t.Errorf("%s: the RSS card says %q, want the host's memory as context", c.source, rssDetail)
		}
	}
}

// TestStandaloneFlamegraphs: the report directory holds the flame and
// icicle graphs as SVG files of their own, with their script (hover, zoom,
// search), listed in summary.json and linked from the page with
// summary.json, which is written after the page.
func TestStandaloneFlamegraphs(t *testing.T) {
	dir := t.TempDir()
	meta, run := evilRun()
	s, err := WriteDir(dir, meta, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{rundir.FlameSVG, rundir.IcicleSVG} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		svg := string(data)
		if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "<script") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") {
			t.Errorf("%s is not a standalone interactive SVG: %.80q", name, svg)
		}
	}
	if s.Files["flamegraph"] != rundir.FlameSVG || s.Files["flamegraph_reversed"] != rundir.IcicleSVG {
		t.Errorf("summary files %v", s.Files)
	}
	page, err := os.ReadFile(filepath.Join(dir, rundir.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{rundir.FlameSVG, rundir.IcicleSVG, rundir.SummaryFile} {
		if !strings.Contains(string(page), `href="`+name+`"`) {
			t.Errorf("the page does not link %s", name)
		}
	}
}
