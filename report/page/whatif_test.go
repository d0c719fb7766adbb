package page

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gofil/gofil/report/internal/fixture"
	"github.com/gofil/gofil/report/summary"
)

// TestWhatIfInSummaryAndPage: from the GC log of testdata/pacing (a JSON
// job with ten times its live data in garbage, run at GOGC=100, then a
// report phase over its live heap; internal/pacer/testdata), the summary
// predicts GOGC 25 to 400 and a limit a quarter above the live peak,
// marks the run's own settings with its measured figures, and advises the
// limit, which saves the most (a third) for the fewest cycles; the page
// shows the table and the advice.
func TestWhatIfInSummaryAndPage(t *testing.T) {
	log, err := fixture.ReadGCLog("../../internal/pacer/testdata/pacing-report.tsv")
	if err != nil {
		t.Fatal(err)
	}
	meta, run := fixture.SyntheticRun(10, false)
	run.GCLog = log
	s := summary.Build(meta, run)
	var gogcs []string
	var actual, limit *summary.WhatIf
	for i := range s.WhatIf {
		w := &s.WhatIf[i]
		if w.GOGC != nil && w.MemoryLimitBytes == 0 {
			gogcs = append(gogcs, fmt.Sprint(*w.GOGC))
		}
		if w.Actual {
			actual = w
		}
		if w.MemoryLimitBytes > 0 {
			limit = w
		}
	}
	if strings.Join(gogcs, ",") != "25,50,100,200,400" {
		t.Errorf("GOGC values %v", gogcs)
	}
	if actual == nil || *actual.GOGC != 100 || actual.MeasuredPeakHeapBytes == nil || actual.MeasuredGCCycles == nil {
		t.Fatalf("the run's own settings: %+v", actual)
	}
	live, _ := log.LargestLive()
	if limit == nil || limit.MemoryLimitBytes < live+live/4 || limit.MemoryLimitBytes > live*2 {
		t.Fatalf("limit near the live peak (%d): %+v", live, limit)
	}
	if !strings.HasPrefix(s.GCAdvice, fmt.Sprintf("GOMEMLIMIT=%dMiB: peak Go heap about −", limit.MemoryLimitBytes>>20)) {
		t.Errorf("advice %q", s.GCAdvice)
	}
	var page bytes.Buffer
	if _, err := renderHTML(context.Background(), &page, t.TempDir(), meta, s, run); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	if n := strings.Count(html, "<tr class=\"actual\">"); n != 1 || !strings.Contains(html, `id="whatif-table"`) || !strings.Contains(html, "about 1.") {
		t.Errorf("the page's table of settings is missing or wrong (%d rows of the run's own)", n)
	}
}

// TestWhatIfForGCOff: a program that turned its GC off (GOGC=off,
// debug.SetGCPercent(-1)) is offered no GOGC value, only a memory limit
// against the live heap its own GCs found.
func TestWhatIfForGCOff(t *testing.T) {
	log, err := fixture.ReadGCLog("../../internal/pacer/testdata/pacing.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for i := range log.Points {
		log.Points[i].GOGC = -1
	}
	meta, run := fixture.SyntheticRun(10, false)
	run.GCLog = log
	s := summary.Build(meta, run)
	if len(s.WhatIf) == 0 {
		t.Fatal("no what-if at all")
	}
	for _, w := range s.WhatIf {
		if w.GOGC != nil {
			t.Errorf("a GOGC of %d offered to a program with its GC off: %+v", *w.GOGC, w)
		}
	}
	if s.GCAdvice != "" && !strings.HasPrefix(s.GCAdvice, "GOMEMLIMIT=") {
		t.Errorf("advice %q", s.GCAdvice)
	}
}
