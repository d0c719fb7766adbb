package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/report/summary"
)

// gofilBuild builds the testdata program name with `gofil build` and
// extra flags into a private directory, and returns the binary's path.
func gofilBuild(t *testing.T, name string, extra ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"build", "-o", bin}, extra...)
	r := gofil(t, testdata(t, name), append(args, ".")...)
	if r.code != 0 {
		t.Fatalf("gofil build: exit code %d\n%s", r.code, r.stderr)
	}
	return bin
}

// runBinary runs bin with args in dir, GOFIL_OUT set to out unless out is
// empty, and returns its stdout, stderr and exit code.
func runBinary(t *testing.T, bin, dir, out string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = withoutGofilEnv()
	if out != "" {
		cmd.Env = append(cmd.Env, "GOFIL_OUT="+out)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// withoutGofilEnv is the test's environment without gofil's variables.
func withoutGofilEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFIL_") && !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	return env
}

// runDirs returns the run directories in out, checking each is private.
func runDirs(t *testing.T, out string) []string {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		p := filepath.Join(out, e.Name())
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a directory, 0700", p, st.Mode())
		}
		dirs = append(dirs, p)
	}
	return dirs
}

var runDirName = regexp.MustCompile(`^(exits|example)-20[0-9]{6}T[0-9]{6}Z-[A-Za-z0-9._-]+-[0-9]+$`)

// reportOf runs gofil report on a production run directory and reads its
// summary.
func reportOf(t *testing.T, dir string) (*summary.Summary, result) {
	t.Helper()
	r := gofil(t, dir, "report", dir)
	if r.code != 0 {
		t.Fatalf("gofil report %s: exit code %d\n%s", dir, r.code, r.stderr)
	}
	s := readSummary(t, dir)
	if s == nil {
		t.Fatalf("gofil report %s wrote no summary\n%s", dir, r.stderr)
	}
	return s, r
}

// TestProductionExample builds testdata/example with gofil build and runs
// it without gofil, GOFIL_OUT set: its output is the plain program's, it
// makes one private run directory, and gofil report finds the known
// bytes of main.buildIndex and main.loadRecords at the peak.
func TestProductionExample(t *testing.T) {
	t.Parallel()
	bin := gofilBuild(t, "example")
	plain := filepath.Join(t.TempDir(), "plain")
	if out, err := exec.Command("go", "build", "-C", testdata(t, "example"), "-o", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	wantOut, _, wantCode := runBinary(t, plain, t.TempDir(), "")

	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gofil.run/agent/tracker.buildSettings=gofil build", "tracker.buildRate=65536", "memprofilerate=65536"} {
		if !bytes.Contains(info, []byte(want)) {
			t.Errorf("go version -m does not show %q:\n%s", want, info)
		}
	}

	out := filepath.Join(t.TempDir(), "runs", "example")
	stdout, stderr, code := runBinary(t, bin, t.TempDir(), out)
	if stdout != wantOut || code != wantCode {
		t.Errorf("stdout %q, exit code %d; the plain program's: %q, %d\n%s", stdout, code, wantOut, wantCode, stderr)
	}
	for _, p := range []string{out, filepath.Dir(out)} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, want made 0700", p, err)
		}
	}
	dirs := runDirs(t, out)
	if len(dirs) != 1 {
		t.Fatalf("%d run directories in %s, want 1", len(dirs), out)
	}
	if !runDirName.MatchString(filepath.Base(dirs[0])) {
		t.Errorf("run directory %s, want example-TIME-HOST-PID", filepath.Base(dirs[0]))
	}
	s, r := reportOf(t, dirs[0])
	if s.Peak == nil {
		t.Fatalf("no peak in the report\n%s", r.stderr)
	}
	for fn, want := range map[string]int64{"main.loadRecords": 160 * mib, "main.buildIndex": 192 * mib} {
		got := inclusive(s, fn)
		if tol := samplingTolerance(want, s.SamplingRate); !within(got, want, tol) {
			t.Errorf("%s holds %d bytes at the peak, want %d ±%.1f%%", fn, got, want, 100*tol)
		}
	}
	if s.ExitCode != 0 || s.Ended != "main returned (exit code 0)" {
		t.Errorf("ended %q, exit code %d, want main's return, 0", s.Ended, s.ExitCode)
	}
	if !strings.Contains(r.stderr, "production run") {
		t.Errorf("the report does not say it was a production run:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "index.html")); err != nil {
		t.Error(err)
	}
}

// TestProductionRuns runs a gofil-built testdata/exits without gofil: the
// exit code is passed through, two processes at once make two
// directories, without GOFIL_OUT nothing is written, and a process killed
// by SIGKILL leaves a peak gofil report renders, saying its end was not
// recorded.
func TestProductionRuns(t *testing.T) {
	t.Parallel()
	bin := gofilBuild(t, "exits")

	t.Run("exit code", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "runs")
		_, stderr, code := runBinary(t, bin, t.TempDir(), out, "exit")
		if code != 3 {
			t.Errorf("exit code %d, want os.Exit's 3\n%s", code, stderr)
		}
		dirs := runDirs(t, out)
		if len(dirs) != 1 {
			t.Fatalf("%d run directories, want 1", len(dirs))
		}
		s, _ := reportOf(t, dirs[0])
		if s.ExitPath != "exit" || s.ExitCode != -1 {
			t.Errorf("exit path %q, exit code %d; want exit, -1 (not recorded)", s.ExitPath, s.ExitCode)
		}
	})

	t.Run("two at once", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "runs")
		var cmds []*exec.Cmd
		for i := 0; i < 2; i++ {
			cmd := exec.Command(bin, "survive")
			cmd.Dir = t.TempDir()
			cmd.Env = append(withoutGofilEnv(), "GOFIL_OUT="+out)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
		for _, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Error(err)
			}
		}
		dirs := runDirs(t, out)
		if len(dirs) != 2 {
			t.Fatalf("%d run directories for two processes, want 2: %q", len(dirs), dirs)
		}
		for _, d := range dirs {
			if !runDirName.MatchString(filepath.Base(d)) {
				t.Errorf("run directory %s, want exits-TIME-HOST-PID", filepath.Base(d))
			}
			if _, err := os.Stat(filepath.Join(d, "raw", "exit.json")); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("off", func(t *testing.T) {
		home, tmp, wd := t.TempDir(), t.TempDir(), t.TempDir()
		cmd := exec.Command(bin, "return")
		cmd.Dir = wd
		cmd.Env = append(withoutGofilEnv(), "HOME="+home, "TMPDIR="+tmp, "XDG_CACHE_HOME="+home)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, d := range []string{home, tmp, wd} {
			if entries, _ := os.ReadDir(d); len(entries) > 0 {
				t.Errorf("the tracker, off, wrote into %s: %v", d, entries)
			}
		}
	})

	t.Run("SIGKILL", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "runs")
		cmd := exec.Command(bin, "killed")
		cmd.Dir = t.TempDir()
		cmd.Env = append(withoutGofilEnv(), "GOFIL_OUT="+out)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			ready <- line == "ready\n"
		}()
		select {
		case ok := <-ready:
			if !ok {
				t.Fatal("the program did not say ready")
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("the program did not say ready in 30s")
		}
		// The tracker writes a new peak within peakWriteEvery (100ms) of
		// seeing it, on a tick it may miss on a loaded machine: a second
		// leaves it room, as a program killed long after its peak would.
		time.Sleep(time.Second)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		dirs := runDirs(t, out)
		if len(dirs) != 1 {
			t.Fatalf("%d run directories, want 1", len(dirs))
		}
		s, r := reportOf(t, dirs[0])
		if s.Peak == nil || !within(inclusive(s, "main.hold"), 64*mib, samplingTolerance(64*mib, s.SamplingRate)) {
			t.Errorf("main.hold holds %d bytes at the peak, want 64 MiB\n%s", inclusive(s, "main.hold"), r.stderr)
		}
		if s.Ended != "no record of its end: killed (SIGKILL or the OOM killer)" || s.ExitCode != -1 {
			t.Errorf("ended %q, exit code %d, want no record of its end, -1", s.Ended, s.ExitCode)
		}
	})
}

// TestBuildBadInput: gofil build refuses an output directory another user
// can write, and bad flags, in one line with exit code 2.
func TestBuildBadInput(t *testing.T) {
	t.Parallel()
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"-o writable by others", []string{"-o", filepath.Join(open, "bin"), "."}, "writable by others"},
		{"bad rate", []string{"--rate", "lots", "."}, "--rate"},
		{"bad threshold", []string{"--oom-threshold", "2", "."}, "--oom-threshold"},
		{"bad keep", []string{"--keep", "-1", "."}, "--keep"},
		{"relative --out", []string{"--out", "runs", "."}, "absolute"},
		{"unknown flag", []string{"--nosuchflag", "."}, "flag provided but not defined"},
		{"no package", nil, "nothing to build"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := gofil(t, testdata(t, "exits"), append([]string{"build"}, c.args...)...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "gofil build: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("exit code %d, stderr %q; want 2 and one 'gofil build:' line with %q", r.code, r.stderr, c.want)
			}
		})
	}
	if entries, _ := os.ReadDir(open); len(entries) > 0 {
		t.Errorf("gofil build wrote into %s: %v", open, entries)
	}
}

// TestReportListsRuns: gofil report of a directory of production runs
// (GOFIL_OUT) lists its runs, newest first, one line each: the run
// directory's name, the heap at its peak (main.hold's 64 MiB in each that
// ended) and how it ended, a running process's as running; it renders no
// page and exits 0.
func TestReportListsRuns(t *testing.T) {
	t.Parallel()
	bin := gofilBuild(t, "exits")
	out := filepath.Join(t.TempDir(), "runs")
	var ends []string // how each run ended, oldest first
	for _, c := range []struct{ mode, ended string }{
		{"return", "main returned (exit code 0)"},
		{"exit", "the tracker recorded its end (exit); the exit code is not recorded"},
		{"panic", "a panic in main (exit code 2)"},
	} {
		runBinary(t, bin, t.TempDir(), out, c.mode)
		ends = append(ends, c.ended)
	}
	for _, c := range []struct {
		mode, ended string
		kill        bool
	}{{"killed", "no record of its end: killed (SIGKILL or the OOM killer)", true}, {"wait", "running", false}} {
		cmd := exec.Command(bin, c.mode)
		cmd.Dir = t.TempDir()
		cmd.Env = append(withoutGofilEnv(), "GOFIL_OUT="+out)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
			t.Fatalf("%s: said %q, not ready", c.mode, line)
		}
		if c.kill {
			time.Sleep(time.Second) // as in TestProductionRuns: the peak is on disk
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
		ends = append(ends, c.ended)
	}
	dirs := runDirs(t, out)
	if len(dirs) != len(ends) {
		t.Fatalf("%d run directories, want %d", len(dirs), len(ends))
	}
	r := gofil(t, t.TempDir(), "report", out)
	if r.code != 0 {
		t.Fatalf("gofil report %s: exit code %d\n%s", out, r.code, r.stderr)
	}
	t.Logf("gofil report %s:\n%s%s", out, r.stdout, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(ends) {
		t.Fatalf("%d lines, want one per run, %d:\n%s", len(lines), len(ends), r.stdout)
	}
	line := regexp.MustCompile(`^(exits-\S+)\s+([0-9.]+) MiB\s+(.+)$`)
	seen := map[string]bool{}
	for i, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q, want NAME, the peak in MiB, how it ended", l)
			continue
		}
		seen[filepath.Join(out, m[1])] = true
		if want := ends[len(ends)-1-i]; m[3] != want {
			t.Errorf("line %d: ended %q, want %q (newest first)", i+1, m[3], want)
		}
		// A running process's peak is the one its tracker has seen so
		// far: no GC has seen main.hold's last blocks yet.
		if mb, _ := strconv.ParseFloat(m[2], 64); m[3] != "running" && !within(int64(mb*mib), 64*mib, samplingTolerance(64*mib, 64<<10)) {
			t.Errorf("line %d: peak %s MiB, want main.hold's 64 MiB", i+1, m[2])
		}
	}
	for _, d := range dirs {
		if !seen[d] {
			t.Errorf("%s is not listed", d)
		}
		if _, err := os.Stat(filepath.Join(d, "index.html")); err == nil {
			t.Errorf("listing the runs rendered %s's page", d)
		}
	}
	if r := gofil(t, t.TempDir(), "report", "--open", out); r.code != 2 || !strings.Contains(r.stderr, "run directories") {
		t.Errorf("gofil report --open of a directory of runs: exit code %d, %q; want 2 and a line saying to give one run", r.code, r.stderr)
	}
}

// TestVersionOfBuiltBinary: gofil version BINARY prints the settings
// gofil build baked in, read from the binary, also under -trimpath, whose
// build information has no -ldflags; a plain binary is said not to be
// gofil's, and a file that is no Go binary is refused.
func TestVersionOfBuiltBinary(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "runs")
	for _, c := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"baked", []string{"--rate", "16K", "--out", out, "--keep", "5"}, `rate 16384, oom-threshold 0.9, keep 5, out "` + out + `"`},
		{"trimpath", []string{"--oom-threshold", "off", "--build-flag=-trimpath"}, "rate 65536, oom-threshold off, keep 20;"},
	} {
		bin := gofilBuild(t, "example", c.extra...)
		r := gofil(t, t.TempDir(), "version", bin)
		if r.code != 0 || !strings.Contains(r.stdout, "gofil build (") || !strings.Contains(r.stdout, c.want) {
			t.Errorf("%s: gofil version %s: exit %d, %q; want the settings %q", c.name, bin, r.code, r.stdout+r.stderr, c.want)
		}
	}
	plain := filepath.Join(t.TempDir(), "plain")
	if b, err := exec.Command("go", "build", "-C", testdata(t, "example"), "-o", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	if r := gofil(t, t.TempDir(), "version", plain); r.code != 1 || !strings.Contains(r.stderr, "not built by gofil build") {
		t.Errorf("gofil version of a plain binary: exit %d, %q", r.code, r.stderr)
	}
	if r := gofil(t, t.TempDir(), "version", "/etc/passwd"); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("gofil version of a text file: exit %d, %q; want 2 and one line", r.code, r.stderr)
	}
}
