package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/report/internal/fixture"
	"github.com/gofil/gofil/report/rundir"
)

// TestStandaloneFlamegraphs: the report directory holds the flame and
// icicle graphs as SVG files of their own, with their script (hover, zoom,
// search), listed in summary.json and linked from the page with
// summary.json, which is written after the page.
func TestStandaloneFlamegraphs(t *testing.T) {
	dir := t.TempDir()
	meta, run := fixture.EvilRun()
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
