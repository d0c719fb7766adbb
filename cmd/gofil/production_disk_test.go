package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
