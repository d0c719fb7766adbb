package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestGCSettings runs the example under the collector settings that make
// GC cycles rare or back to back (GOGC=off, a GOMEMLIMIT below the heap,
// both) and checks its ground truth as TestAccuracy does (±5%, or four
// standard deviations of the sampling error where that is more: 7.9% for
// main.loadRecords' 160 MiB, mostly 4 KiB records), the sampled heap
// against the runtime's exact figure (±3%), that the exact figure is known,
// and that an upper-bound peak is said to be one. A program that turns the
// collector off itself, testdata/gcoff, is among TestGroundTruth's.
func TestGCSettings(t *testing.T) {
	truth := map[string]int64{"main.loadRecords": 160 * mib, "main.buildIndex": 192 * mib, "main.tagRecords": 32 * mib}
	for _, env := range [][]string{{"GOGC=off"}, {"GOMEMLIMIT=250MiB"}, {"GOGC=off", "GOMEMLIMIT=300MiB"}} {
		t.Run(strings.Join(env, ","), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			r := gofilEnv(t, testdata(t, "example"), env, "run", "-o", out, ".")
			if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
				t.Fatalf("exit code %d, no peak\n%s", r.code, r.stderr)
			}
			s := r.summary
			for fn, want := range truth {
				got := inclusive(s, fn)
				t.Logf("%s: %.1f MiB (truth %.1f MiB, %+.2f%%)", fn, float64(got)/mib, float64(want)/mib, 100*float64(got-want)/float64(want))
				if tol := samplingTolerance(want, s.SamplingRate); !within(got, want, tol) {
					t.Errorf("%s holds %d bytes at the peak, want %d ±%.1f%%", fn, got, want, 100*tol)
				}
			}
			p := s.Peak
			if strings.Contains(r.stderr, "runtime: 0 B") {
				t.Errorf("an unknown figure is given as 0 B:\n%s", r.stderr)
			}
			checkExactOrBounds(t, p, p.SampledBytes, 0.03)
			if p.Approximate && !strings.Contains(strings.Join(s.Notes, "\n"), "upper bound") {
				t.Errorf("an approximate peak without a note saying so: %q", s.Notes)
			}
		})
	}
}
