package report

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

// TestReplacedByExec: the tracker's pipe closed while the program went on
// means an exec, unless the tracker wrote its end after that (the program
// had closed the pipe itself).
func TestReplacedByExec(t *testing.T) {
	started := time.Unix(1700000000, 0)
	start := &raw.Start{StartUnix: started.Add(time.Millisecond).UnixNano()}
	for _, c := range []struct {
		name string
		gone time.Duration
		exit *raw.Exit
		want bool
	}{
		{"no pipe closed", 0, nil, false},
		{"closed, no end", time.Second, nil, true},
		{"closed, an end before (a signal the program handled)", time.Second, &raw.Exit{AtNS: int64(500 * time.Millisecond)}, true},
		{"closed, an end after", time.Second, &raw.Exit{AtNS: int64(2 * time.Second)}, false},
	} {
		run := &Run{Start: start, Exit: c.exit}
		s := Build(Meta{Started: started, TrackerGone: c.gone}, run)
		if got := s.ReplacedAtSeconds != nil; got != c.want {
			t.Errorf("%s: replaced %v, want %v (notes %q)", c.name, got, c.want, s.Notes)
		}
	}
}

// TestRemoveTemps: the temporary files of the tracker's and gofil's own
// JSON files go; everything else stays.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	stray := []string{".history.json.12345", ".peak.json.1", ".meta.json.99"}
	keep := []string{raw.PeakFile, ".history.json.", ".history.json.12x", ".other.7", "notes.txt"}
	for _, n := range append(slices.Clone(stray), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	RemoveTemps(dir)
	for _, n := range stray {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s left", n)
		}
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed", n)
		}
	}
}
