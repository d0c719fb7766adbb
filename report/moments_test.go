package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/raw"
)

// TestDamagedOptionalFiles: a moments file that does not parse and a GC
// log of garbage leave the rest of the report whole; the summary says what
// was lost.
func TestDamagedOptionalFiles(t *testing.T) {
	fixture := filepath.Join("testdata", "run", "raw")
	dir := t.TempDir()
	entries, err := os.ReadDir(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(fixture, e.Name()))
		os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600)
	}
	os.WriteFile(filepath.Join(dir, raw.MomentsFile), []byte(`{"moments": [{"cycle": "x"`), 0o600)
	os.WriteFile(filepath.Join(dir, raw.GCLogFile), []byte(strings.Repeat("\x00", 1<<20)), 0o600)
	run, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if run.Peak == nil || run.RawMoments != nil {
		t.Fatalf("peak %v, moments %v", run.Peak != nil, run.RawMoments != nil)
	}
	meta, _, _ := ReadMeta(dir)
	s := Build(meta, run)
	if !strings.Contains(strings.Join(s.Notes, "\n"), raw.MomentsFile+" could not be read") || len(s.WhatIf) != 0 {
		t.Errorf("notes %q, %d what-ifs", s.Notes, len(s.WhatIf))
	}
}

// TestMomentsDecoded: the fixture's moments decode into heaps whose stacks
// add up to each moment's total.
func TestMomentsDecoded(t *testing.T) {
	run, err := Load(filepath.Join("testdata", "run", "raw"))
	if err != nil {
		t.Fatal(err)
	}
	times := run.MomentTimes()
	if len(times) < 3 {
		t.Fatalf("%d moments", len(times))
	}
	all := make([]int, len(times))
	for i := range all {
		all[i] = i
	}
	ms := run.MomentsAt(all)
	if len(ms) != len(times) {
		t.Fatalf("%d of %d moments decoded", len(ms), len(times))
	}
	for i, m := range ms {
		var sum int64
		for _, s := range m.Heap.Raw.Stacks {
			sum += s.Bytes
		}
		if m.At != times[i] || sum != run.RawMoments.Moments[i].Bytes {
			t.Errorf("moment %d (GC %d): stacks add up to %d, its total is %d", i, m.Cycle, sum, run.RawMoments.Moments[i].Bytes)
		}
	}
	if near, ok := run.MomentNear(times[1] + 1); !ok || near.At != times[1] {
		t.Errorf("nearest %v: %v", times[1], near.At)
	}
}
