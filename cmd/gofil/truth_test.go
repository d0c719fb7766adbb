package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
	"github.com/gofil/gofil/report/view"
)

// groundTruth is what a ground-truth program measures of itself and
// writes to the file named by TRUTH_OUT: the bytes each measured function
// holds at the peak, callees included, and the heap then (the end of the
// run, or for gcoff the one GC it runs).
type groundTruth struct {
	Functions map[string]int64 `json:"functions"`
	Total     int64            `json:"total"`
	// Garbage is, per function, what it dropped before the peak's mark.
	Garbage map[string]int64 `json:"garbage"`
}

// TestGroundTruth runs programs whose lines allocate many sizes each (the
// runtime keeps one heap-profile record per stack and size) and that
// measure their own heap, and checks gofil's attribution at the peak, the
// end of each run, against what they measured: every function holding at
// least 5% of the heap within ±5%, the sampled total within ±3% of the
// runtime's exact heap, the peak within ±5% of the live heap at the end.
// The runs measure memory, so they are not parallel.
func TestGroundTruth(t *testing.T) {
	for _, name := range []string{"manysizes", "appendgrow", "wordindex", "jsonload", "workerpool", "gcoff"} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			out := filepath.Join(tmp, "report")
			truthFile := filepath.Join(tmp, "truth.json")
			r := gofilEnv(t, testdata(t, name), []string{"TRUTH_OUT=" + truthFile}, "run", "-o", out, ".")
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s", r.code, r.stderr)
			}
			truth := readTruth(t, truthFile)
			s := r.summary
			if s == nil || s.Peak == nil {
				t.Fatalf("no peak in summary\n%s", r.stderr)
			}

			fns := make([]string, 0, len(truth.Functions))
			for fn := range truth.Functions {
				fns = append(fns, fn)
			}
			sort.Strings(fns)
			for _, fn := range fns {
				want := truth.Functions[fn]
				if want < truth.Total/20 {
					continue
				}
				got := inclusive(s, fn)
				t.Logf("%s: %.1f MiB (truth %.1f MiB, %+.2f%%)", fn, float64(got)/mib, float64(want)/mib, pct(got, want))
				if tol := samplingTolerance(want, s.SamplingRate); !within(got, want, tol) {
					t.Errorf("%s holds %d bytes at the peak, want %d ±%.1f%%", fn, got, want, 100*tol)
				}
				if name == "jsonload" {
					checkOwnTop(t, s, fn, want)
				}
			}

			// The sampled pair, before any correction, against the
			// runtime's exact heap at the same mark, or, where the
			// readings around the mark could not prove it, its bounds,
			// or, with none (a loaded machine's tracker read no heap
			// between the sweep before the mark and the mark), the
			// reading nearest before the mark that the peak is chosen by.
			switch {
			case s.Peak.MarkHeapBytesExact == nil && len(s.Peak.MarkHeapBoundsBytes) != 2:
				if s.Peak.HeapBytesExact == 0 {
					t.Fatalf("peak.mark_heap_bytes_exact, its bounds and peak.heap_bytes_exact unknown\n%s", r.stderr)
				}
				before := int64(s.Peak.HeapBytesExact)
				t.Logf("peak.mark_heap_bytes_exact unknown, and no bounds; peak.sampled_bytes: %.1f MiB (peak.heap_bytes_exact, read before the mark, %.1f MiB, %+.2f%%)", float64(s.Peak.SampledBytes)/mib, float64(before)/mib, pct(s.Peak.SampledBytes, before))
				if !within(s.Peak.SampledBytes, before, 0.03) {
					t.Errorf("peak.sampled_bytes = %d, want peak.heap_bytes_exact %d ±3%%", s.Peak.SampledBytes, before)
				}
			case s.Peak.MarkHeapBytesExact == nil:
				b := s.Peak.MarkHeapBoundsBytes
				t.Logf("peak.mark_heap_bytes_exact unknown; bounds [%.1f, %.1f] MiB", float64(b[0])/mib, float64(b[1])/mib)
				if float64(s.Peak.SampledBytes) < 0.97*float64(b[0]) || float64(s.Peak.SampledBytes) > 1.03*float64(b[1]) {
					t.Errorf("peak.sampled_bytes = %d, outside the bounds [%d, %d] ±3%%", s.Peak.SampledBytes, b[0], b[1])
				}
			default:
				exact := int64(*s.Peak.MarkHeapBytesExact)
				t.Logf("peak.sampled_bytes: %.1f MiB (peak.mark_heap_bytes_exact %.1f MiB, %+.2f%%)", float64(s.Peak.SampledBytes)/mib, float64(exact)/mib, pct(s.Peak.SampledBytes, exact))
				if !within(s.Peak.SampledBytes, exact, 0.03) {
					t.Errorf("peak.sampled_bytes = %d, want peak.mark_heap_bytes_exact %d ±3%%", s.Peak.SampledBytes, exact)
				}
			}
			t.Logf("peak.heap_bytes: %.1f MiB (truth total %.1f MiB, %+.2f%%) at %.2fs (%s)", float64(s.Peak.HeapBytes)/mib, float64(truth.Total)/mib, pct(s.Peak.HeapBytes, truth.Total), s.Peak.AtSeconds, s.Peak.Moment)
			if !within(s.Peak.HeapBytes, truth.Total, 0.05) {
				t.Errorf("peak.heap_bytes = %d, want the truth's total %d ±5%%", s.Peak.HeapBytes, truth.Total)
			}
			checkFiles(t, out, s)
		})
	}
}

// readTruth reads the truth a ground-truth program wrote.
func readTruth(t *testing.T, path string) groundTruth {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the program wrote no truth: %v", err)
	}
	var g groundTruth
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(g.Functions) == 0 || g.Total <= 0 {
		t.Fatalf("%s holds no truth: %s", path, data)
	}
	return g
}

// pct is got's error relative to want, in percent.
func pct(got, want int64) float64 {
	return 100 * float64(got-want) / float64(want)
}

// TestLiveAndGarbage runs testdata/livegarbage, whose peak is a GC's mark
// holding an index it keeps (live) and a batch it dropped (garbage), each
// measured by the program, at one sample per 4 KiB (the index is 72 MiB of
// small objects: at the default 64 KiB, 5% would be under two standard
// deviations): each function's live and garbage parts are within 5% of the
// truth, the sampled heap within 3% of the runtime's exact one, and the other part near nothing; the runtime's
// exact live and garbage within 3%; the GC settings are the program's own
// (GOGC=400 by debug.SetGCPercent); peak.pb.gz carries live_space and
// garbage_space; the page says it in its headline.
//
// It runs twice: with the tracker's default interval, and with a slow one
// (50 ms), at which the program's last GC is mostly seen only as it ends.
// Its GC drops only garbage, so it finds the live heap the GC before found:
// whether the tracker's snapshot holds its early publication is told by
// the frees alone. A third run polls every second, too slowly to see the
// cycles around the peak one by one: its report must say that the peak may
// have fallen among them, with a bound that holds the true peak.
func TestLiveAndGarbage(t *testing.T) {
	for _, interval := range []string{"", "50ms", "1s"} {
		name := "interval=" + interval
		if interval == "" {
			name = "interval=default"
		}
		t.Run(name, func(t *testing.T) { testLiveAndGarbage(t, interval) })
	}
}

func testLiveAndGarbage(t *testing.T, interval string) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "report")
	truthFile := filepath.Join(tmp, "truth.json")
	env := []string{"TRUTH_OUT=" + truthFile}
	if interval != "" {
		env = append(env, "GOFIL_INTERVAL="+interval)
	}
	r := gofilEnv(t, testdata(t, "livegarbage"), env, "run", "--rate", "4096", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	truth := readTruth(t, truthFile)
	s := r.summary
	if s == nil || s.Peak == nil {
		t.Fatalf("no peak\n%s", r.stderr)
	}
	if interval == "1s" {
		// Either the peak is exact and a note gives the bound, or a reading
		// among the unseen cycles held more than the exact peak and the
		// bound's pair is the peak, approximate, between that reading and
		// the bound.
		notes := strings.Join(s.Notes, "\n")
		p := s.Peak
		switch {
		case p.Approximate:
			if b := int64(p.HeapBytesExact); b < truth.Total*95/100 || int64(p.LowerBoundBytes) > truth.Total*105/100 || !strings.Contains(notes, "upper bound") {
				t.Errorf("a tracker too slow for the peak's cycles: an approximate peak between %d and %d (truth %d), notes %q", p.LowerBoundBytes, b, truth.Total, notes)
			}
		default:
			if b := int64(p.UpperBoundBytes); b < truth.Total*95/100 || !strings.Contains(notes, "the peak may have fallen among them") {
				t.Errorf("a tracker too slow for the peak's cycles: upper bound %d (truth %d), notes %q", b, truth.Total, notes)
			}
		}
		return
	}
	if s.Peak.Moment != "gc" && s.Peak.Moment != "before-gc" {
		t.Fatalf("the peak's moment is %q, want a GC's mark or the reading before it", s.Peak.Moment)
	}
	fn := func(name string) heap.Function {
		for _, f := range s.Functions {
			if f.Function == name {
				return f
			}
		}
		return heap.Function{}
	}
	keep, batch := fn("main.keepIndex"), fn("main.decodeBatch")
	wantLive, wantGarbage := truth.Functions["main.keepIndex"], truth.Garbage["main.decodeBatch"]
	t.Logf("main.keepIndex live %.1f MiB (truth %.1f MiB, %+.2f%%), garbage %.1f MiB", float64(keep.LiveBytes)/mib, float64(wantLive)/mib, pct(keep.LiveBytes, wantLive), float64(keep.GarbageBytes)/mib)
	t.Logf("main.decodeBatch garbage %.1f MiB (truth %.1f MiB, %+.2f%%), live %.1f MiB", float64(batch.GarbageBytes)/mib, float64(wantGarbage)/mib, pct(batch.GarbageBytes, wantGarbage), float64(batch.LiveBytes)/mib)
	if !within(keep.LiveBytes, wantLive, 0.05) || !within(batch.GarbageBytes, wantGarbage, 0.05) {
		t.Errorf("live of main.keepIndex %d (want %d), garbage of main.decodeBatch %d (want %d), ±5%%", keep.LiveBytes, wantLive, batch.GarbageBytes, wantGarbage)
	}
	if keep.GarbageBytes > truth.Total/50 || batch.LiveBytes > truth.Total/50 {
		t.Errorf("main.keepIndex has %d bytes of garbage and main.decodeBatch %d live, want next to none", keep.GarbageBytes, batch.LiveBytes)
	}
	for _, site := range s.Top {
		if site.LiveBytes+site.GarbageBytes != site.Bytes {
			t.Errorf("site %s:%d: live %d + garbage %d != %d", site.Function, site.Line, site.LiveBytes, site.GarbageBytes, site.Bytes)
		}
	}
	p := s.Peak
	if interval != "" && p.MarkHeapBytesExact == nil {
		// A tracker polling every 50 ms reads too far from the mark to
		// prove the runtime's heap there: it says unknown, and its bounds
		// hold the truth.
		b := p.MarkHeapBoundsBytes
		t.Logf("the exact heap at the mark unknown; bounds %v", b)
		if !boundsHold(b, truth.Total, 0.01) {
			t.Errorf("bounds %v on the heap at the mark do not hold the truth %d", b, truth.Total)
		}
		return
	}
	if p.LiveBytesExact == nil || p.GarbageBytesExact == nil {
		t.Fatalf("no exact live and garbage: %+v", p)
	}
	t.Logf("exact: live %.1f MiB, garbage %.1f MiB; sampled: live %.1f MiB, garbage %.1f MiB", float64(*p.LiveBytesExact)/mib, float64(*p.GarbageBytesExact)/mib, float64(p.LiveBytes)/mib, float64(p.GarbageBytes)/mib)
	if !within(int64(*p.LiveBytesExact), wantLive, 0.03) || !within(int64(*p.GarbageBytesExact), wantGarbage, 0.03) {
		t.Errorf("the runtime's live %d and garbage %d, want %d and %d ±3%%", *p.LiveBytesExact, *p.GarbageBytesExact, wantLive, wantGarbage)
	}
	if p.MarkHeapBytesExact == nil {
		t.Errorf("peak: no exact heap at the mark")
	} else if !within(p.SampledBytes, int64(*p.MarkHeapBytesExact), 0.03) || !within(p.HeapBytes, truth.Total, 0.05) {
		t.Errorf("peak: sampled %d, exact at the mark %d (±3%%); heap %d, truth %d (±5%%)", p.SampledBytes, *p.MarkHeapBytesExact, p.HeapBytes, truth.Total)
	}
	if p.LiveBytes+p.GarbageBytes != p.HeapBytes {
		t.Errorf("peak: live %d + garbage %d != heap %d", p.LiveBytes, p.GarbageBytes, p.HeapBytes)
	}
	if g := p.GC; g == nil || g.GOGC != 400 || g.GOGCSetBy != "program" || g.MemoryLimitBytes != 0 || g.MemoryLimitSetBy != "default" {
		t.Errorf("peak.gc_settings = %+v, want GOGC 400 set by the program and no memory limit", g)
	}
	prof, err := heap.ReadProfile(filepath.Join(out, rundir.PeakProfile))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, st := range prof.SampleType {
		types = append(types, st.Type)
	}
	if !slices.Equal(types, []string{"inuse_objects", "inuse_space", "live_space", "garbage_space"}) {
		t.Errorf("peak.pb.gz has sample types %q", types)
	}
	var inuse, live, garbage int64
	for _, smp := range prof.Sample {
		inuse, live, garbage = inuse+smp.Value[1], live+smp.Value[2], garbage+smp.Value[3]
	}
	if live != p.LiveBytes || garbage != p.GarbageBytes || inuse != p.HeapBytes {
		t.Errorf("peak.pb.gz holds %d in use, %d live, %d garbage; summary.json %d, %d, %d", inuse, live, garbage, p.HeapBytes, p.LiveBytes, p.GarbageBytes)
	}
	page, _ := os.ReadFile(filepath.Join(out, rundir.HTMLFile))
	want := fmt.Sprintf("%s at the peak: %s live data, %s garbage awaiting collection (GOGC=400, set by the program; no memory limit).",
		units.Bytes(view.PeakHeap(p).Bytes), units.Bytes(int64(*p.LiveBytesExact)), units.Bytes(int64(*p.GarbageBytesExact)))
	if !strings.Contains(string(page), want) {
		t.Errorf("the page has no headline %q", want)
	}
}

// samplingTolerance is how far a function's sampled bytes may be from the
// truth: 5%, or four standard deviations of the sampling error where that
// is larger. Each sample of small objects stands for about rate bytes, so a
// function's sampled bytes vary by about sqrt(rate × bytes): for 150 MiB of
// small objects at the default 64 KiB that is 2%, and 5% would be a
// failure in every hundred runs or so.
func samplingTolerance(want int64, rate int) float64 {
	if want <= 0 || rate <= 0 {
		return 0.05
	}
	return math.Max(0.05, 4*math.Sqrt(float64(rate)/float64(want)))
}

// checkOwnTop holds own_top to the truth of fn, a function of jsonload
// that allocates only through encoding/json: own_top's entries of fn (the
// innermost frame of the program's own code, whatever the library below
// it) sum to its truth, and name a site below it in the standard library.
func checkOwnTop(t *testing.T, s *summary.Summary, fn string, want int64) {
	t.Helper()
	var got int64
	below := ""
	for _, o := range s.OwnTop {
		if o.Function == fn {
			got += o.Bytes
			if below == "" {
				below = o.SiteFunction
			}
		}
	}
	t.Logf("own_top %s: %.1f MiB, through %s", fn, float64(got)/mib, below)
	if tol := samplingTolerance(want, s.SamplingRate); !within(got, want, tol) {
		t.Errorf("own_top gives %s %d bytes, want %d ±%.1f%%", fn, got, want, 100*tol)
	}
	if !strings.HasPrefix(below, "encoding/") && !strings.HasPrefix(below, "reflect.") {
		t.Errorf("own_top's %s names %q as the site below it, want one in encoding/json or its callees", fn, below)
	}
}
