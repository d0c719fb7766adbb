package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/view"
)

// TestTrackerMemorySmall runs testdata/manystacks, which allocates from
// tens of thousands of distinct stacks, at the default rate: at the peak
// the tracker holds at most 2% of the program's heap there, or 8 MiB if
// that is more (peak.tracker_bytes, its heap sampled as the program's),
// and stderr and the page say it beside the Go heap. Before the tracker
// kept its records in a compact table, it held 100 to 190 MiB there.
func TestTrackerMemorySmall(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "report")
	truthFile := filepath.Join(tmp, "truth.json")
	// GOFIL_DEBUG has the tracker say how many stacks it has seen.
	r := gofilEnv(t, testdata(t, "manystacks"), []string{"TRUTH_OUT=" + truthFile, "GOFIL_DEBUG=1"}, "run", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	truth := readTruth(t, truthFile)
	s := r.summary
	if s == nil || s.Peak == nil {
		t.Fatalf("no peak in summary\n%s", r.stderr)
	}
	stacks := 0
	for _, m := range regexp.MustCompile(`gofil-debug: snapshot .* stacks=(\d+)`).FindAllStringSubmatch(r.stderr, -1) {
		stacks, _ = strconv.Atoi(m[1])
	}
	if stacks < 20000 {
		t.Fatalf("the tracker saw %d distinct stacks, want tens of thousands", stacks)
	}
	p := s.Peak
	bound := max(p.HeapBytes/50, 8<<20)
	t.Logf("%d stacks; tracker %.2f MiB at the peak, program's heap %.1f MiB (runtime %.1f MiB, truth at the end %.1f MiB); bound %.2f MiB",
		stacks, float64(p.TrackerBytes)/mib, float64(p.HeapBytes)/mib, float64(p.HeapBytesExact)/mib, float64(truth.Total)/mib, float64(bound)/mib)
	if p.TrackerBytes <= 0 || p.TrackerBytes > bound {
		t.Errorf("peak.tracker_bytes = %d, want above 0 and at most %d (2%% of the program's heap at the peak, or 8 MiB)", p.TrackerBytes, bound)
	}
	own := view.OwnText(p)
	if own == "" || !strings.Contains(r.stderr, own) {
		t.Errorf("stderr does not say %q:\n%s", own, headlines(r.stderr))
	}
	page, err := os.ReadFile(filepath.Join(out, rundir.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), strings.ReplaceAll(own, "'", "&#39;")) {
		t.Errorf("the page does not say %q", own)
	}
}

// headlines are the lines of stderr that are gofil's, not its debugging.
func headlines(stderr string) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "gofil: ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
