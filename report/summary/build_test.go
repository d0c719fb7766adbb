package summary

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/heap"
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

// TestProductionEnd: a production run's end is what its tracker recorded;
// without a record, a kill no program can catch, and after an emergency
// dump, the out-of-memory killer's.
func TestProductionEnd(t *testing.T) {
	start := &raw.Start{Production: true, Program: "/srv/job", StartUnix: 1}
	dump := &heap.Heap{Raw: raw.Profile{Level: 2, UsageBytes: 290 << 20, LimitBytes: 300 << 20}}
	cases := []struct {
		exit  *raw.Exit
		oom   *heap.Heap
		code  int
		ended string
	}{
		{nil, nil, -1, "no record of its end: killed (SIGKILL or the OOM killer)"},
		{nil, dump, -1, "killed by the out-of-memory killer"},
		{&raw.Exit{How: "return"}, nil, 0, "main returned (exit code 0)"},
		{&raw.Exit{How: "return"}, dump, 0, "main returned (exit code 0)"},
		{&raw.Exit{How: "panic"}, nil, 2, "a panic in main (exit code 2)"},
		{&raw.Exit{How: "signal SIGTERM"}, nil, -1, "by SIGTERM (the tracker recorded it)"},
		{&raw.Exit{How: "exit"}, nil, -1, "the tracker recorded its end (exit); the exit code is not recorded"},
	}
	for _, c := range cases {
		run := &rundir.Run{Start: start, Exit: c.exit, OOM: c.oom, Timeline: []rundir.TimelinePoint{{At: time.Second, RSS: 5 << 20}}}
		meta := rundir.ProductionMeta(run)
		s := Build(meta, run)
		if s.OOMKilled != (c.ended == "killed by the out-of-memory killer") {
			t.Errorf("exit %+v, dump %v: oom_killed %v", c.exit, c.oom != nil, s.OOMKilled)
		}
		if s.ExitCode != c.code || s.Ended != c.ended {
			t.Errorf("exit %+v: exit code %d, ended %q; want %d, %q", c.exit, s.ExitCode, s.Ended, c.code, c.ended)
		}
		if !slices.ContainsFunc(s.Notes, func(n string) bool { return strings.HasPrefix(n, "production run:") }) {
			t.Errorf("exit %+v: no note says it was a production run: %q", c.exit, s.Notes)
		}
		if len(s.Command) != 1 || s.Command[0] != "/srv/job" || s.Peak == nil || s.Peak.RSSBytes != 5<<20 {
			t.Errorf("exit %+v: command %q, peak %+v; want the program and the timeline's RSS", c.exit, s.Command, s.Peak)
		}
	}
}
