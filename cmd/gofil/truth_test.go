package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// groundTruth is what a ground-truth program measures of itself and
// writes to the file named by TRUTH_OUT: the bytes each measured function
// holds at the peak, callees included, and the heap then (the end of the
// run, or for gcoff the one GC it runs).
type groundTruth struct {
	Functions map[string]int64 `json:"functions"`
	Total     int64            `json:"total"`
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
				if !within(got, want, 0.05) {
					t.Errorf("%s holds %d bytes at the peak, want %d ±5%%", fn, got, want)
				}
			}

			// The sampled pair, before any correction, against the
			// runtime's exact heap at the same mark.
			if s.Peak.MarkHeapBytesExact == nil {
				t.Fatalf("peak.mark_heap_bytes_exact unknown\n%s", r.stderr)
			}
			exact := int64(*s.Peak.MarkHeapBytesExact)
			t.Logf("peak.sampled_bytes: %.1f MiB (peak.mark_heap_bytes_exact %.1f MiB, %+.2f%%)", float64(s.Peak.SampledBytes)/mib, float64(exact)/mib, pct(s.Peak.SampledBytes, exact))
			if !within(s.Peak.SampledBytes, exact, 0.03) {
				t.Errorf("peak.sampled_bytes = %d, want peak.mark_heap_bytes_exact %d ±3%%", s.Peak.SampledBytes, exact)
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
