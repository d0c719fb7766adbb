package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// mount mounts a file system for the test with args (mount's), and
// unmounts it at the end; it skips the test where mounting fails (no
// root, no privilege in a container).
func mount(t *testing.T, args ...string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("mounting a file system takes root")
	}
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Skipf("mount %s: %v: %s", strings.Join(args, " "), err, out)
	}
	target := args[len(args)-1]
	t.Cleanup(func() { exec.Command("umount", "-l", target).Run() })
}

// TestProductionNeverHarmful runs a gofil-built testdata/exits with
// GOFIL_OUT on a read-only volume, on a tiny one the tracker fills, and on
// one the program fills itself: the program's stdout and exit code are the
// plain program's, the tracker says at most one line on stderr, and a
// tracker that could not start leaves nothing behind.
func TestProductionNeverHarmful(t *testing.T) {
	bin := gofilBuild(t, "exits")
	plain := filepath.Join(t.TempDir(), "plain")
	if out, err := exec.Command("go", "build", "-C", testdata(t, "exits"), "-o", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	readOnly := t.TempDir()
	mount(t, "--bind", t.TempDir(), readOnly)
	mount(t, "-o", "remount,bind,ro", readOnly)
	tiny := t.TempDir()
	mount(t, "-t", "tmpfs", "-o", "size=8k,mode=0700", "tmpfs", tiny)
	small := t.TempDir()
	mount(t, "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", small)

	cases := []struct {
		name, out string
		args      []string
	}{
		{"read-only", readOnly, []string{"survive"}},
		{"read-only, missing", filepath.Join(readOnly, "runs"), []string{"exit"}},
		{"tiny", tiny, []string{"survive"}},
		{"tiny, exit", tiny, []string{"exit"}},
		{"filled by the program", small, []string{"fill", small}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantOut, _, wantCode := runBinary(t, plain, t.TempDir(), "", c.args...)
			os.Remove(filepath.Join(small, "filler"))
			stdout, stderr, code := runBinary(t, bin, t.TempDir(), c.out, c.args...)
			if stdout != wantOut || code != wantCode {
				t.Errorf("stdout %q, exit code %d; the plain program's: %q, %d", stdout, code, wantOut, wantCode)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if l != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) > 1 || len(lines) == 1 && !strings.HasPrefix(lines[0], "gofil: ") {
				t.Errorf("stderr: %q, want at most one gofil line", lines)
			}
			t.Logf("stderr: %q", lines)
			if c.out == tiny {
				// A tracker that could not start leaves no room taken.
				if entries, _ := os.ReadDir(tiny); len(entries) > 0 {
					t.Errorf("%s holds %d entries after a tracker that could not start", tiny, len(entries))
				}
			}
		})
	}
}

// TestProductionKeep runs a gofil-built testdata/exits, built with
// --keep 3, again and again in one GOFIL_OUT, a second apart, while an
// older process still runs: each start keeps the newest three run
// directories and the living process's, and removes the others;
// GOFIL_KEEP=1 overrides the baked count; another program's directory
// stays.
func TestProductionKeep(t *testing.T) {
	t.Parallel()
	bin := gofilBuild(t, "exits", "--keep", "3")
	out := filepath.Join(t.TempDir(), "runs")
	other := filepath.Join(out, "example-20200101T000000Z-h-1")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}

	live := exec.Command(bin, "wait")
	live.Dir = t.TempDir()
	live.Env = append(withoutGofilEnv(), "GOFIL_OUT="+out)
	stdout, err := live.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer live.Wait()
	defer live.Process.Kill()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the living process said %q, not ready", line)
	}
	var liveDir string
	for _, d := range runDirs(t, out) {
		if d != other {
			liveDir = d
		}
	}
	if liveDir == "" {
		t.Fatalf("the living process made no run directory in %s", out)
	}

	var made []string // run directories of the runs below, oldest first
	run := func(env ...string) {
		t.Helper()
		time.Sleep(1100 * time.Millisecond) // a run directory's time is to the second
		before := map[string]bool{}
		for _, d := range runDirs(t, out) {
			before[d] = true
		}
		cmd := exec.Command(bin, "return")
		cmd.Dir = t.TempDir()
		cmd.Env = append(append(withoutGofilEnv(), "GOFIL_OUT="+out), env...)
		if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
			t.Fatalf("%v: %s", err, b)
		}
		for _, d := range runDirs(t, out) {
			if !before[d] {
				made = append(made, d)
			}
		}
	}
	want := func(dirs ...string) {
		t.Helper()
		got := runDirs(t, out)
		sort.Strings(got)
		dirs = append(dirs, other)
		sort.Strings(dirs)
		if strings.Join(got, "\n") != strings.Join(dirs, "\n") {
			t.Errorf("run directories:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(dirs, "\n"))
		}
	}
	for i := 0; i < 5; i++ {
		run()
	}
	if len(made) != 5 {
		t.Fatalf("5 runs made %d directories", len(made))
	}
	want(liveDir, made[2], made[3], made[4])
	run("GOFIL_KEEP=1")
	want(liveDir, made[5])
	live.Process.Kill()
	live.Wait()
	run("GOFIL_KEEP=1")
	want(made[6])
}
