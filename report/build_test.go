package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/rundir"
)

// TestDamagedOptionalFiles: a moments file that does not parse and a GC
// log of garbage leave the rest of the report whole; the summary says what
// was lost.
func TestDamagedOptionalFiles(t *testing.T) {
	fixture := filepath.Join("rundir", "testdata", "run", "raw")
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
	run, err := rundir.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if run.Peak == nil || run.RawMoments != nil {
		t.Fatalf("peak %v, moments %v", run.Peak != nil, run.RawMoments != nil)
	}
	meta, _, _ := rundir.ReadMeta(dir)
	s := Build(meta, run)
	if !strings.Contains(strings.Join(s.Notes, "\n"), raw.MomentsFile+" could not be read") || len(s.WhatIf) != 0 {
		t.Errorf("notes %q, %d what-ifs", s.Notes, len(s.WhatIf))
	}
}
