package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// The parsers of what gofil reads from outside, fuzzed: none may panic,
// hang or hold more than the input's limits, and what they accept must be
// consistent. The seeds run in make test; make fuzz runs each for a while.

// FuzzLoad replaces one file of a real run's data with the fuzzer's and
// reads the run as gofil report does.
func FuzzLoad(f *testing.F) {
	fixture := filepath.Join("rundir", "testdata", "run", "raw")
	entries, err := os.ReadDir(fixture)
	if err != nil {
		f.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		data, _ := os.ReadFile(filepath.Join(fixture, e.Name()))
		f.Add(uint8(len(names)-1), data)
	}
	f.Add(uint8(0), []byte(`{"version": 1, "stacks": [{"frames": [{"func": "main.f"}], "bytes": -5, "objects": 1e300}]}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		dir := t.TempDir()
		for _, n := range names {
			b, _ := os.ReadFile(filepath.Join(fixture, n))
			os.WriteFile(filepath.Join(dir, n), b, 0o600)
		}
		os.WriteFile(filepath.Join(dir, names[int(which)%len(names)]), data, 0o600)
		run, err := rundir.Load(dir)
		if err != nil {
			return
		}
		meta, _, _ := rundir.ReadMeta(dir)
		s := summary.Build(meta, run)
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("the summary of what Load accepted does not encode: %v", err)
		}
		run.Leaks(time.Now())
		for range run.SpreadMarks(8) {
		}
	})
}
