package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gofil/gofil/report/summary"
)

// TestWhatIfPredictsRealRuns: the pacer's replay, made from one run of
// testdata/pacing under gofil at the default settings, predicts the peak Go
// heap of the program run for real, without gofil, under GOGC=50,
// GOGC=200 and the memory limit near its live peak that the report
// proposes, within ±15%. The truth of a real run is the runtime's own: the
// largest heap at the end of a GC (GODEBUG=gctrace=1) or, if larger, the
// heap at the program's end, which it prints itself.
func TestWhatIfPredictsRealRuns(t *testing.T) {
	dir := testdata(t, "pacing")
	out := filepath.Join(t.TempDir(), "report")
	r := gofilEnv(t, dir, []string{"GOGC=", "GOMEMLIMIT="}, "run", "-o", out, ".")
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	var limit *summary.WhatIf
	predicted := map[string]summary.WhatIf{}
	for _, w := range r.summary.WhatIf {
		w := w
		switch {
		case w.Actual:
			if w.GOGC == nil || *w.GOGC != 100 || w.MemoryLimitBytes != 0 || w.MeasuredPeakHeapBytes == nil {
				t.Fatalf("the run's own settings: %+v", w)
			}
			predicted["GOGC=100"] = w
		case w.MemoryLimitBytes > 0:
			limit = &w
		case w.GOGC != nil:
			predicted[fmt.Sprintf("GOGC=%d", *w.GOGC)] = w
		}
	}
	if limit == nil || predicted["GOGC=50"].PeakHeapBytes == 0 || predicted["GOGC=200"].PeakHeapBytes == 0 {
		t.Fatalf("whatif lacks a setting: %+v", r.summary.WhatIf)
	}
	predicted[fmt.Sprintf("GOMEMLIMIT=%d", limit.MemoryLimitBytes)] = *limit
	// The limit proposed near the live peak is one that binds: below the
	// heap the run's own settings let the program reach.
	if own := predicted["GOGC=100"].PeakHeapBytes; limit.PeakHeapBytes > own/10*9 {
		t.Errorf("the proposed GOMEMLIMIT=%d predicts %d bytes, the run's own settings %d: it does not bind", limit.MemoryLimitBytes, limit.PeakHeapBytes, own)
	}

	bin := filepath.Join(t.TempDir(), "pacing")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, setting := range []string{"GOGC=100", "GOGC=50", "GOGC=200", fmt.Sprintf("GOMEMLIMIT=%d", limit.MemoryLimitBytes)} {
		w := predicted[setting]
		peak, cycles := realRun(t, bin, setting)
		off := float64(w.PeakHeapBytes)/float64(peak) - 1
		t.Logf("%-22s predicted %6.1f MiB, %3d cycles; real %6.1f MiB, %3d cycles (%+.1f%%)", setting, float64(w.PeakHeapBytes)/mib, w.GCCycles, float64(peak)/mib, cycles, 100*off)
		if math.Abs(off) > 0.15 {
			t.Errorf("%s: predicted peak %d, real %d: %+.1f%%, want within ±15%%", setting, w.PeakHeapBytes, peak, 100*off)
		}
	}
	if r.summary.GCAdvice == "" || !strings.Contains(r.stderr, r.summary.GCAdvice) {
		t.Errorf("no advice on stderr (summary: %q)\n%s", r.summary.GCAdvice, r.stderr)
	}
}

// realRun runs bin with setting and GODEBUG=gctrace=1 and returns its peak
// Go heap, by the runtime's own figures, and its GC cycles.
func realRun(t *testing.T, bin, setting string) (peak uint64, cycles int) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "GOGC=", "GOMEMLIMIT=", "GODEBUG=gctrace=1", setting)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", setting, bin, err, stderr.String())
	}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 10 && f[0] == "gc" && strings.Contains(f[10], "->"):
			// gc N @t p%: ... ms cpu, start->end->live MB, ...
			mb := strings.Split(f[10], "->")
			end, err := strconv.ParseUint(mb[1], 10, 64)
			if err != nil {
				t.Fatalf("gctrace: %q", sc.Text())
			}
			if end<<20 > peak {
				peak = end << 20
			}
			cycles++
		case len(f) == 5 && strings.Join(f[:4], " ") == "pacing: heap at end":
			end, err := strconv.ParseUint(f[4], 10, 64)
			if err != nil {
				t.Fatalf("%q", sc.Text())
			}
			if end > peak {
				peak = end
			}
		}
	}
	if cycles == 0 {
		t.Fatalf("%s: no gctrace line\n%s", setting, stderr.String())
	}
	return peak, cycles
}
