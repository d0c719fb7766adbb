package rundir

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

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

func TestRSSRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := []RSSPoint{{0, 1 << 20}, {10 * time.Millisecond, 2 << 20}, {1234567 * time.Microsecond, 3 << 20}}
	if err := WriteRSS(dir, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadRSS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out) != fmt.Sprint(in) {
		t.Errorf("read %v, wrote %v", out, in)
	}
}
