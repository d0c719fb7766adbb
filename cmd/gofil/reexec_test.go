package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgramExecsItself: a program that replaces itself by exec of its
// own binary gets a report of the image the tracker ran in, which says
// the image was replaced and when; the second image runs without the
// tracker and without gofil's variables (even when the program passes it
// the environment it was started with), and its exit code is gofil's. No
// temporary file is left in raw/.
func TestProgramExecsItself(t *testing.T) {
	for _, mode := range []string{"late", "early", "keepenv"} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			r := gofil(t, testdata(t, "reexec"), "run", "-o", out, ".", "--", mode, filepath.Join(out, "raw"))
			if r.code != 7 {
				t.Fatalf("exit code %d, want the second image's 7\n%s%s", r.code, r.stdout, r.stderr)
			}
			if want := "first image, exec\nsecond image, gofil's variables []\n"; r.stdout != want {
				t.Errorf("the program printed %q, want %q", r.stdout, want)
			}
			s := r.summary
			if s == nil {
				t.Fatalf("no summary\n%s", r.stderr)
			}
			if s.ReplacedAtSeconds == nil || *s.ReplacedAtSeconds <= 0 || *s.ReplacedAtSeconds > s.DurationSeconds {
				t.Errorf("replaced_by_exec_at_seconds = %v, want a time within the run's %.2fs", s.ReplacedAtSeconds, s.DurationSeconds)
			}
			notes := strings.Join(s.Notes, "\n")
			if !strings.Contains(notes, "replaced its image by exec") || strings.Contains(notes, "ended before its first GC") ||
				strings.Contains(notes, "without the tracker's final accounting") {
				t.Errorf("notes do not say the image was replaced:\n%s", notes)
			}
			if strings.Contains(r.stderr, "tracker not started") {
				t.Errorf("the second image's tracker tried to start\n%s", r.stderr)
			}
			switch {
			case mode == "early" && s.Peak != nil && s.Peak.HeapBytes != 0:
				t.Errorf("a heap peak for an image that ran no GC cycle: %+v", s.Peak)
			case mode != "early" && s.Peak == nil:
				t.Errorf("no peak for the first image\n%s", r.stderr)
			case mode != "early":
				if got := inclusive(s, "main.first"); !within(got, 48*mib, 0.1) {
					t.Errorf("main.first holds %d bytes at the peak, want 48 MiB", got)
				}
				if got := inclusive(s, "main.second"); got != 0 {
					t.Errorf("main.second, of the image the tracker did not run in, holds %d bytes", got)
				}
			}
			entries, err := os.ReadDir(filepath.Join(out, "raw"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("raw/%s left behind", e.Name())
				}
			}
		})
	}
}
