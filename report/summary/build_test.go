package summary

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
	fixture := filepath.Join("..", "rundir", "testdata", "run", "raw")
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

// TestOwnPeakRSSIgnoresWait4: wait4's maxrss is the last resort; the
// program's own high-water mark wins, even when smaller.
func TestOwnPeakRSSIgnoresWait4(t *testing.T) {
	run := &rundir.Run{Exit: &raw.Exit{MaxRSSBytes: 2 << 20, ChildrenMaxRSSBytes: 400 << 20}}
	own, children := ownPeakRSS(rundir.Meta{MaxRSS: 400 << 20, HighWater: 1 << 20}, run)
	if own != 2<<20 || children != 400<<20 {
		t.Errorf("own %d, children %d; want %d, %d", own, children, 2<<20, 400<<20)
	}
	if own, _ := ownPeakRSS(rundir.Meta{MaxRSS: 26 << 20}, &rundir.Run{}); own != 26<<20 {
		t.Errorf("with nothing else known, own = %d, want wait4's", own)
	}
	if own, _ := ownPeakRSS(rundir.Meta{MaxRSS: 90 << 20, HighWater: 40 << 20}, &rundir.Run{}); own != 90<<20 {
		t.Errorf("without the tracker's reading at exit, own = %d, want wait4's bound", own)
	}
}
