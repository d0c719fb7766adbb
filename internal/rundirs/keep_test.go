package rundirs

import (
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

// TestPruneRunDirs: beyond the newest keep run directories of the
// program, those whose lock no process holds go, and those without a lock
// file unchanged for a minute; a locked one, one without a lock changed a
// moment ago, another program's and the newest stay.
func TestPruneRunDirs(t *testing.T) {
	out := t.TempDir()
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	old := now.Add(-time.Hour)
	made := map[string]string{
		"job-20261206T035909Z-h-9":    "live",
		"job-20261206T035908Z-h-8":    "dead",
		"job-20261206T035907Z-h-7":    "live",
		"job-20261206T035906Z-h-6":    "dead",
		"job-20261206T035905Z-h-5":    "unlocked, new",
		"job-20261206T035904Z-h-4":    "unlocked, old",
		"job-20261206T035903Z-h-3-2":  "dead",
		"jobber-20261206T035801Z-h-1": "dead",
		"job-x-20261206T035801Z-h-1":  "dead",
	}
	for name, state := range made {
		dir := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Join(dir, raw.SubDir), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, raw.SubDir, raw.TimelineFile), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		switch state {
		case "live", "dead":
			f, err := os.OpenFile(filepath.Join(dir, raw.RunLock), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if state == "dead" {
				f.Close()
				break
			}
			// Another open file's lock, as another process's would be.
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			defer f.Close()
		case "unlocked, old":
			for _, p := range []string{filepath.Join(dir, raw.SubDir, raw.TimelineFile), filepath.Join(dir, raw.SubDir), dir} {
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
		case "unlocked, new":
			for _, p := range []string{filepath.Join(dir, raw.SubDir), dir} {
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			// Its timeline changed a moment ago: a tracker writes it.
			if err := os.Chtimes(filepath.Join(dir, raw.SubDir, raw.TimelineFile), now, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(out, "job-20261206T035800Z-h-0"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	if n := Prune(out, "/srv/job", 0, now); n != 0 {
		t.Errorf("keep 0 removed %d", n)
	}
	if n := Prune(out, "/srv/job", 2, now); n != 3 {
		t.Errorf("removed %d, want 3", n)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{
		"job-20261206T035800Z-h-0", // a file
		"job-20261206T035905Z-h-5",
		"job-20261206T035907Z-h-7",
		"job-20261206T035908Z-h-8",
		"job-20261206T035909Z-h-9",
		"job-x-20261206T035801Z-h-1",
		"jobber-20261206T035801Z-h-1",
	}
	sort.Strings(left)
	if len(left) != len(want) {
		t.Fatalf("left %q, want %q", left, want)
	}
	for i := range want {
		if left[i] != want[i] {
			t.Fatalf("left %q, want %q", left, want)
		}
	}
}

// TestKeepCount: GOFIL_KEEP wins over the baked count, which wins over
// the default; what is not a count is passed over.
func TestKeepCount(t *testing.T) {
	cases := []struct {
		baked, env string
		want       int
	}{
		{"", "", DefaultKeep},
		{"5", "", 5},
		{"5", "2", 2},
		{"5", "0", 0},
		{"5", "lots", 5},
		{"", "-1", DefaultKeep},
	}
	for _, c := range cases {
		if got := KeepCount(c.baked, c.env); got != c.want {
			t.Errorf("KeepCount(%q, %q) = %d, want %d", c.baked, c.env, got, c.want)
		}
	}
}

// TestMakeRunDirLocks: the run directory's lock is held while the process
// lives: a pruning process leaves it alone.
func TestMakeRunDirLocks(t *testing.T) {
	out := t.TempDir()
	dir, lock, err := Make(out, "job", "h", time.Now().Add(-time.Hour), 7)
	if err != nil {
		t.Fatal(err)
	}
	if removeUnheld(dir, time.Now()) {
		t.Fatalf("a pruning process removed the run directory of a living one")
	}
	lock.Close()
	if !removeUnheld(dir, time.Now()) {
		t.Errorf("a pruning process did not remove the run directory of one that ended")
	}
}
