package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/cmd/gofil/internal/gotest"
)

// Truths of testdata/memtests, whose tests say why they are true.
const (
	memHold      = 70 * mib // TestHold
	memLeak      = 16 * mib // TestLeak, left in a package-level slice
	memGoroutine = 32 * mib // TestGoroutines: 8 goroutines of 4 MiB
	memGrow      = 8 * mib  // TestGrow, without MEMTESTS_GROW_KIB
)

// gofilTest runs gofil test in testdata/memtests with env added and reads
// tests.json from the -o directory it makes.
func gofilTest(t *testing.T, env []string, args ...string) (result, map[string]gotest.Row) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(gofilBin, append([]string{"test", "-o", out}, args...)...)
	cmd.Dir = testdata(t, "memtests")
	cmd.Env = append(os.Environ(), env...)
	r := runGofil(t, cmd)
	r.dir = out
	rows := map[string]gotest.Row{}
	data, err := os.ReadFile(filepath.Join(out, gotest.ResultsFile))
	if err != nil {
		return r, rows
	}
	var list []gotest.Row
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	for _, row := range list {
		rows[row.Package+" "+row.Test] = row
	}
	return r, rows
}

// TestGofilTestTruths runs every test of testdata/memtests, one failing,
// and holds each test's figures to what it holds: the peaks within 5%, the
// leak's retained bytes within 5%, the churn's under 1 MiB.
func TestGofilTestTruths(t *testing.T) {
	t.Parallel()
	r, rows := gofilTest(t, []string{"MEMTESTS_FAIL=1"}, "./...")
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1 (a test failed)\n%s", r.code, r.stderr)
	}
	if len(rows) != 10 {
		t.Fatalf("%d rows in tests.json, want 10 (memtests' 8, other's and withmain's 1; notests has none)\n%s", len(rows), r.stderr)
	}
	for _, c := range []struct {
		test string
		peak int64
	}{{"memtests TestHold", memHold}, {"memtests TestGoroutines", memGoroutine}, {"memtests TestLeak", memLeak}} {
		if got := int64(rows[c.test].Peak); !within(got, c.peak, 0.05) {
			t.Errorf("%s: peak %d bytes, want %d ±5%%", c.test, got, c.peak)
		}
	}
	// A peak holds the test binary's own heap too (the testing package's,
	// a few hundred KiB), which is more than 5% of a small test's.
	if got := int64(rows["memtests TestGrow"].Peak); got < memGrow || got > memGrow+mib {
		t.Errorf("TestGrow: peak %d bytes, want %d to 1 MiB more", got, memGrow)
	}
	if got := rows["memtests TestLeak"].Retained; !within(got, memLeak, 0.05) {
		t.Errorf("TestLeak retained %d bytes, want %d ±5%%", got, memLeak)
	}
	// The live heap at a process's end without its test is about 430 KiB
	// (the testing package's, the tracker's): 128 KiB either way is the
	// runtime's noise, not that. withmain's TestMain holds 4 MiB in every
	// process: not its test's.
	for _, name := range []string{"memtests TestChurn", "memtests TestHold", "memtests TestGoroutines", "memtests/withmain TestUsesFixture"} {
		if got := rows[name].Retained; got > 128<<10 || got < -128<<10 {
			t.Errorf("%s retained %d bytes, want 0 ±128 KiB", name, got)
		}
	}
	if f := rows["memtests TestFail"]; f.Passed || !rows["memtests TestHold"].Passed {
		t.Errorf("TestFail passed=%v, TestHold passed=%v; want false, true", f.Passed, rows["memtests TestHold"].Passed)
	}
	if !strings.Contains(r.stdout, "failing as asked") || !strings.Contains(r.stdout, "ok  \tmemtests/other") {
		t.Errorf("stdout lacks the failing test's output or other's ok line:\n%s", r.stdout)
	}
	lines := strings.Split(r.stderr, "\n")
	if i := strings.Index(r.stderr, "TestHold"); i < 0 || i > strings.Index(r.stderr, "TestGoroutines") || !strings.Contains(lines[2], "70.") {
		t.Errorf("the table is not sorted by peak, TestHold first at 70.x MiB:\n%s", r.stderr)
	}
	if !rows["memtests TestHold"].Report {
		t.Errorf("the heaviest test has no report")
	} else if _, err := os.Stat(filepath.Join(r.dir, rows["memtests TestHold"].Dir, "index.html")); err != nil {
		t.Errorf("the heaviest test's report: %v", err)
	}
}

// TestGofilTestCrash: a test that panics in a goroutine kills its process;
// it is a failed row, the other tests keep theirs.
func TestGofilTestCrash(t *testing.T) {
	t.Parallel()
	r, rows := gofilTest(t, []string{"MEMTESTS_CRASH=1"}, "-run", "TestCrash|TestGrow", ".")
	if r.code != 1 || len(rows) != 2 || rows["memtests TestCrash"].Passed || !rows["memtests TestGrow"].Passed {
		t.Fatalf("exit code %d, rows %+v; want 1, TestCrash failed and TestGrow passed\n%s", r.code, rows, r.stderr)
	}
	if !strings.Contains(r.stdout, "crashing as asked") {
		t.Errorf("stdout lacks the panic:\n%s", r.stdout)
	}
}

// TestGofilTestTimeout: a test that blocks forever is ended by -timeout;
// its row fails, with one line on how its process ended, and the others
// keep theirs.
func TestGofilTestTimeout(t *testing.T) {
	t.Parallel()
	r, rows := gofilTest(t, []string{"MEMTESTS_HANG=1"}, "-run", "TestHang|TestGrow", "-timeout", "2s", ".")
	if r.code != 1 || len(rows) != 2 || rows["memtests TestHang"].Passed || !rows["memtests TestGrow"].Passed {
		t.Fatalf("exit code %d, rows %+v; want 1, TestHang failed and TestGrow passed\n%s", r.code, rows, r.stderr)
	}
	if !strings.Contains(r.stdout, "test timed out after 2s") || !strings.Contains(r.stderr, "gofil test: memtests TestHang: the test process ended with exit code 2") {
		t.Errorf("no timeout on stdout, or no line on stderr:\n%s\n%s", r.stdout, r.stderr)
	}
}

// TestGofilTestBaseline writes a baseline of TestGrow, then grows it by
// 4 MiB (50%, past 10%), which fails with its line, and by 512 KiB (6%,
// within both 10% and the 1 MiB floor), which does not.
func TestGofilTestBaseline(t *testing.T) {
	t.Parallel()
	base := filepath.Join(t.TempDir(), "baseline.json")
	r, _ := gofilTest(t, nil, "-run", "TestGrow", "--baseline", base, "--update-baseline", ".")
	if r.code != 0 {
		t.Fatalf("--update-baseline: exit code %d\n%s", r.code, r.stderr)
	}
	if st, err := os.Stat(base); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("baseline file: %v, %v; want mode 0600", st, err)
	}
	r, _ = gofilTest(t, []string{"MEMTESTS_GROW_KIB=4096"}, "-run", "TestGrow", "--baseline", base, ".")
	if r.code != 1 || !strings.Contains(r.stderr, "memtests TestGrow: peak 12.") {
		t.Errorf("grown by 4 MiB: exit code %d, want 1 and TestGrow's line\n%s", r.code, r.stderr)
	}
	r, _ = gofilTest(t, []string{"MEMTESTS_GROW_KIB=512"}, "-run", "TestGrow", "--baseline", base, ".")
	if r.code != 0 {
		t.Errorf("grown by 512 KiB: exit code %d, want 0\n%s", r.code, r.stderr)
	}
}

// TestGofilTestBadInput: no such package, and tests that do not compile,
// each one line and exit code 2, the compiler's output shown.
func TestGofilTestBadInput(t *testing.T) {
	t.Parallel()
	r, _ := gofilTest(t, nil, "./nosuch")
	if r.code != 2 || !strings.Contains(r.stderr, "gofil test: cannot load") {
		t.Errorf("./nosuch: exit code %d, want 2 and one line\n%s", r.code, r.stderr)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module broken\n\ngo 1.21\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "b_test.go"), []byte("package broken\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) { undefinedThing() }\n"), 0o600)
	cmd := exec.Command(gofilBin, "test", "-o", filepath.Join(t.TempDir(), "out"), ".")
	cmd.Dir = dir
	r = runGofil(t, cmd)
	if r.code != 2 || !strings.Contains(r.stderr, "undefined: undefinedThing") || !strings.Contains(r.stderr, "gofil test: the tests of broken do not build") {
		t.Errorf("a compile error: exit code %d, want 2 with the compiler's output\n%s", r.code, r.stderr)
	}
}
