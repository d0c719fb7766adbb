package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSecondRunKeptBinary: a second gofil run of an unchanged program runs
// the binary the first one built and kept (the same file: nothing was
// linked again), and its report attributes the peak to the program's
// functions as the first run's does, written by gofil run and again by
// gofil report. --rebuild builds afresh and leaves the kept binary alone.
func TestSecondRunKeptBinary(t *testing.T) {
	env, home, _ := goEnvFor(t)
	cache := filepath.Join(home, ".cache", "gofil")
	truth := map[string]int64{"main.loadRecords": 160 * mib, "main.buildIndex": 192 * mib}
	kept := func() uint64 {
		t.Helper()
		bins, _ := filepath.Glob(filepath.Join(cache, "bin", "*", "prog"))
		if len(bins) != 1 {
			t.Fatalf("kept binaries %q, want one", bins)
		}
		st, err := os.Stat(bins[0])
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	checkRun := func(r result) {
		t.Helper()
		if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
			t.Fatalf("exit code %d, no peak\n%s", r.code, r.stderr)
		}
		for fn, want := range truth {
			if got, tol := inclusive(r.summary, fn), samplingTolerance(want, r.summary.SamplingRate); !within(got, want, tol) {
				t.Errorf("%s holds %d bytes at the peak, want %d ±%.1f%%", fn, got, want, 100*tol)
			}
		}
	}
	run := func(args ...string) result {
		t.Helper()
		args = append([]string{"run", "-o", filepath.Join(t.TempDir(), "report")}, args...)
		return gofilEnv(t, testdata(t, "example"), env, append(args, ".")...)
	}

	checkRun(run())
	first := kept()
	second := run()
	checkRun(second)
	if ino := kept(); ino != first {
		t.Errorf("the second run linked the program again (inode %d, then %d)", first, ino)
	}
	again := gofilEnv(t, t.TempDir(), env, "report", second.dir)
	if again.code != 0 {
		t.Fatalf("gofil report: exit code %d\n%s", again.code, again.stderr)
	}
	again.summary = readSummary(t, second.dir)
	checkRun(again)

	checkRun(run("--rebuild"))
	if ino := kept(); ino != first {
		t.Errorf("--rebuild replaced the kept binary (inode %d, then %d)", first, ino)
	}
	checkPrivate(t, cache)
}
