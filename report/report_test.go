package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/rundir"
)

// TestOwnPeakRSSIgnoresWait4: wait4's maxrss is the last resort; the
// program's own high-water mark wins, even when smaller.
func TestOwnPeakRSSIgnoresWait4(t *testing.T) {
	run := &rundir.Run{Exit: &raw.Exit{MaxRSSBytes: 2 << 20, ChildrenMaxRSSBytes: 400 << 20}}
	own, children := ownPeakRSS(rundir.Meta{MaxRSS: 400 << 20, HighWater: 1 << 20}, run)
	if own != 2<<20 || children != 400<<20 {
		t.Errorf("own %d, children %d; want %d, %d", own, children, 2<<20, 400<<20)
	}
	if own, _ := ownPeakRSS(rundir.Meta{MaxRSS: 26 << 20}, &rundir.Run{}); own != 26<<20 {
		t.Errorf("with nothing else known, own = %d, want wait4's", own)
	}
	if own, _ := ownPeakRSS(rundir.Meta{MaxRSS: 90 << 20, HighWater: 40 << 20}, &rundir.Run{}); own != 90<<20 {
		t.Errorf("without the tracker's reading at exit, own = %d, want wait4's bound", own)
	}
}

// TestLimitCardOnlyForRealLimits: a cgroup limit gets its card; the host's
// memory, which no one set as a limit, is context in the RSS card.
func TestLimitCardOnlyForRealLimits(t *testing.T) {
	for _, c := range []struct {
		source string
		card   bool
	}{{"cgroup v2 /sys/fs/cgroup/job/memory.max", true}, {"host MemAvailable", false}} {
		run := &rundir.Run{Start: &raw.Start{LimitBytes: 1 << 30, LimitSource: c.source}}
		meta := rundir.Meta{MaxRSS: 100 << 20}
		s := Build(meta, run)
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
	for _, name := range []string{FlameSVG, IcicleSVG} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		svg := string(data)
		if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "<script") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") {
			t.Errorf("%s is not a standalone interactive SVG: %.80q", name, svg)
		}
	}
	if s.Files["flamegraph"] != FlameSVG || s.Files["flamegraph_reversed"] != IcicleSVG {
		t.Errorf("summary files %v", s.Files)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FlameSVG, IcicleSVG, SummaryFile} {
		if !strings.Contains(string(page), `href="`+name+`"`) {
			t.Errorf("the page does not link %s", name)
		}
	}
}
