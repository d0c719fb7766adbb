package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackslashInHome: a home whose path holds a backslash, where the go
// command would refuse the agent's directory in go.mod, leaves gofil's
// builds in the user's own directory in TMPDIR: the run succeeds and the
// report holds the program's 64 MiB. With a backslash in TMPDIR's path too
// gofil stops before the build with one line naming what to change, and
// leaves no report directory.
func TestBackslashInHome(t *testing.T) {
	env, _, tmp := goEnvFor(t)
	home := filepath.Join(t.TempDir(), `h\ome`)
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env = append(env, "HOME="+home)
	out := filepath.Join(t.TempDir(), "report")
	r := gofilEnv(t, testdata(t, "exits"), env, "run", "-o", out, ".", "--", "return")
	if r.code != 0 || r.summary == nil {
		t.Fatalf("gofil run with HOME=%s: exit code %d, summary %v\n%s", home, r.code, r.summary != nil, r.stderr)
	}
	if got := inclusive(r.summary, "main.hold"); !within(got, 64*mib, 0.1) {
		t.Errorf("main.hold holds %d bytes at the peak, want 64 MiB within 10%%", got)
	}
	cache := filepath.Join(tmp, fmt.Sprintf("gofil-%d", os.Getuid()))
	if agents, _ := filepath.Glob(filepath.Join(cache, "agent-*")); len(agents) != 1 {
		t.Errorf("agent directories in %s: %q, want one", cache, agents)
	}
	if agents, _ := filepath.Glob(filepath.Join(home, ".cache", "gofil", "agent-*")); len(agents) != 0 {
		t.Errorf("agent directories under the home: %q, want none", agents)
	}

	badTmp := filepath.Join(t.TempDir(), `t\mp`)
	if err := os.Mkdir(badTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "report")
	r = gofilEnv(t, testdata(t, "exits"), append(env, "TMPDIR="+badTmp), "run", "-o", out, ".", "--", "return")
	if r.code != 2 || !strings.Contains(r.stderr, "backslash") || !strings.Contains(r.stderr, "TMPDIR") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("with a backslash in HOME and TMPDIR: exit code %d, stderr %q; want 2 and one line about the backslash", r.code, r.stderr)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("the failed run left its report directory %s", out)
	}
}
