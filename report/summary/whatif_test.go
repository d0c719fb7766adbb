package summary

import (
	"os"
	"testing"

	"github.com/gofil/gofil/internal/pacer"
)

// TestNoAdviceWithoutGarbage: a program whose heap is all live data (every
// byte it allocates it keeps) gains nothing from any setting, and is told
// nothing.
func TestNoAdviceWithoutGarbage(t *testing.T) {
	log := &pacer.Log{}
	for i := 0; i <= 20; i++ {
		kind := byte('g')
		if i == 0 {
			kind = 's'
		}
		a := uint64(i) << 22
		log.Points = append(log.Points, pacer.Point{Kind: kind, Cycle: uint32(i), Allocs: a, Live: a, Heap: a, GOGC: 100, Limit: 1<<63 - 1})
	}
	log.Points = append(log.Points, pacer.Point{Kind: 'e', Cycle: 20, Allocs: 21 << 22, Live: 20 << 22, Heap: 21 << 22, GOGC: 100, Limit: 1<<63 - 1})
	list, advice := whatIf(log)
	if len(list) == 0 || advice != "" {
		t.Errorf("advice %q for a heap without garbage (%d settings)", advice, len(list))
	}
}

// TestNoAdviceFromFewCycles: a run of two GC cycles, however much garbage
// it held, is too little known to advise a setting; the note says so.
func TestNoAdviceFromFewCycles(t *testing.T) {
	const none = 1<<63 - 1
	log := &pacer.Log{Points: []pacer.Point{
		{Kind: 's', GOGC: 100, Limit: none},
		{Kind: 'g', Cycle: 1, Allocs: 8 << 20, Live: 1 << 20, Heap: 8 << 20, GOGC: 100, Limit: none},
		{Kind: 'g', Cycle: 2, Allocs: 300 << 20, Live: 2 << 20, Heap: 290 << 20, GOGC: 100, Limit: none},
		{Kind: 'e', Cycle: 2, Allocs: 600 << 20, Live: 2 << 20, Heap: 300 << 20, GOGC: 100, Limit: none},
	}}
	list, advice := whatIf(log)
	if advice != "" || whatIfNote(list) == "" {
		t.Errorf("advice %q, note %q, from a run of two GC cycles", advice, whatIfNote(list))
	}
}

// TestNoAdviceForDataHeldToAForcedGC: testdata/example holds all it makes
// until the line before its runtime.GC (internal/pacer/testdata/
// example.tsv). The replay's reading of the bytes allocated since its last
// regular mark, garbage all along, predicts a limit near the live peak
// saves a quarter of the peak; read as data held until the forced GC, as
// they were, it saves nothing. The table keeps the first reading; no
// setting is advised.
func TestNoAdviceForDataHeldToAForcedGC(t *testing.T) {
	log, err := readGCLog("../../internal/pacer/testdata/example.tsv")
	if err != nil {
		t.Fatal(err)
	}
	list, advice := whatIf(log)
	if advice != "" {
		t.Errorf("advice %q", advice)
	}
	var actual, limit *WhatIf
	for i := range list {
		switch w := &list[i]; {
		case w.Actual:
			actual = w
		case w.MemoryLimitBytes > 0:
			limit = w
		}
	}
	if actual == nil || limit == nil || float64(limit.PeakHeapBytes) > 0.8*float64(actual.PeakHeapBytes) {
		t.Fatalf("the table: the run's own %+v, under a limit %+v; want the limit's peak a fifth below", actual, limit)
	}
}

// TestAdviceMargin: the log of testdata/pacing in its first form, with no
// report phase, gives a limit that saves a little over a fifth of the
// peak (22%): within the margin of the threshold, where identical runs
// would be advised in one run and not the next. It is listed, and not
// advised.
func TestAdviceMargin(t *testing.T) {
	log, err := readGCLog("../../internal/pacer/testdata/pacing.tsv")
	if err != nil {
		t.Fatal(err)
	}
	list, advice := whatIf(log)
	var base, limit *WhatIf
	for i := range list {
		switch w := &list[i]; {
		case w.Actual:
			base = w
		case w.MemoryLimitBytes > 0:
			limit = w
		}
	}
	if base == nil || limit == nil {
		t.Fatalf("no run's own settings or limit in %+v", list)
	}
	saving := 1 - float64(limit.PeakHeapBytes)/float64(base.PeakHeapBytes)
	t.Logf("the limit saves %.1f%%", 100*saving)
	if saving < 0.2 || saving >= 0.2+adviceMargin {
		t.Fatalf("the fixture's limit saves %.1f%%; the test needs it between 20%% and %.0f%%", 100*saving, 100*(0.2+adviceMargin))
	}
	if advice != "" {
		t.Errorf("advised within the margin: %q", advice)
	}
}

func TestRoundLimit(t *testing.T) {
	for _, c := range []struct{ in, want uint64 }{
		{1, 1 << 20}, {93<<20 - 5, 93 << 20}, {99 << 20, 99 << 20}, {100<<20 + 1, 110 << 20},
		{391 << 20, 400 << 20}, {395 << 20, 400 << 20}, {1234 << 20, 1300 << 20},
	} {
		if got := roundLimit(c.in); got != c.want {
			t.Errorf("roundLimit(%d) = %d MiB, want %d MiB", c.in, got>>20, c.want>>20)
		}
	}
}

// readGCLog reads a GC log of the tracker's, as rundir.Load does.
func readGCLog(path string) (*pacer.Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return pacer.Parse(f)
}
