package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

// The parsers of what gofil reads from outside, fuzzed: none may panic,
// hang or hold more than the input's limits, and what they accept must be
// consistent. The seeds run in make test; make fuzz runs each for a while.

func FuzzParseTimeline(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("testdata", "run", "raw", raw.TimelineFile)); err == nil {
		f.Add(data)
	}
	f.Add([]byte(raw.TimelineHead + "10\t1\t2\t3\t4\t0\t5\n20\t-1\t2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		points, err := ParseTimeline(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 1; i < len(points); i++ {
			if points[i].At < 0 {
				t.Fatalf("point %d at %v", i, points[i].At)
			}
		}
	})
}

func FuzzParseRSS(f *testing.F) {
	var b bytes.Buffer
	writeRSS(&b, []RSSPoint{{0, 1 << 20}, {10 * time.Millisecond, 2 << 20}})
	f.Add(b.Bytes())
	f.Add([]byte("# t_ms\trss_bytes\n1e309\t5\nNaN\t1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		points, err := ParseRSS(bytes.NewReader(data))
		if err != nil {
			return
		}
		var again bytes.Buffer
		writeRSS(&again, points)
		back, err := ParseRSS(&again)
		if err != nil || len(back) != len(points) {
			t.Fatalf("what ParseRSS gave does not read back: %d points, then %d, %v", len(points), len(back), err)
		}
	})
}

// FuzzLoad replaces one file of a real run's data with the fuzzer's and
// reads the run as gofil report does.
func FuzzLoad(f *testing.F) {
	fixture := filepath.Join("testdata", "run", "raw")
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
		run, err := Load(dir)
		if err != nil {
			return
		}
		meta, _, _ := ReadMeta(dir)
		s := Build(meta, run)
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("the summary of what Load accepted does not encode: %v", err)
		}
		run.Leaks(time.Now())
		run.MomentsAt(spread(len(run.MomentTimes()), 8))
	})
}
