package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/report/rundir"
)

// TestGraphvizOnlyWhereDrawn: gofil's own binary does not link Graphviz
// (go-graphviz, or wazero, which runs its WebAssembly), so no command pays
// for its initialisation; the call graph is drawn by a helper process.
func TestGraphvizOnlyWhereDrawn(t *testing.T) {
	info, err := buildinfo.ReadFile(gofilBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range info.Deps {
		if strings.Contains(d.Path, "go-graphviz") || strings.Contains(d.Path, "wazero") {
			t.Errorf("gofil links %s", d.Path)
		}
	}
}

// TestGraphvizCacheIsPrivate: the helper that draws the call graph, and
// go-graphviz's compilation cache, which its package initialisation opens
// under os.TempDir, are in the user's own cache directory, never in a
// shared TMPDIR, with a home or without: a cache another user planted in
// the shared TMPDIR is not touched, and the call graph is still drawn. The
// program gofil runs still gets the user's TMPDIR.
func TestGraphvizCacheIsPrivate(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, os.ModeSticky|0o777)
	planted := filepath.Join(shared, "go-graphviz")
	if err := os.Mkdir(planted, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(planted, "planted"), []byte("not machine code"), 0o666); err != nil {
		t.Fatal(err)
	}
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dirs := strings.Fields(string(goenv))
	goDirs := []string{"GOCACHE=" + dirs[0], "GOMODCACHE=" + dirs[1]}
	profile, err := filepath.Abs(filepath.Join("..", "..", "report", "heap", "testdata", "inlined.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	drawn := func(home string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "r")
		env := append([]string{"TMPDIR=" + shared, "HOME=" + home, "XDG_CACHE_HOME="}, goDirs...)
		r := gofilEnv(t, t.TempDir(), env, "report", "-o", out, profile)
		if r.code != 0 {
			t.Fatalf("gofil report (HOME=%q): exit code %d\n%s", home, r.code, r.stderr)
		}
		page, err := os.ReadFile(filepath.Join(out, rundir.HTMLFile))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(page, []byte(`class="node"`)) {
			t.Errorf("HOME=%q: no call graph on the page", home)
		}
		entries, err := os.ReadDir(planted)
		if err != nil || len(entries) != 1 {
			t.Errorf("HOME=%q: the planted cache was touched: %v, %v", home, entries, err)
		}
	}
	home := t.TempDir()
	drawn(home)
	cache := filepath.Join(home, ".cache", "gofil")
	if _, err := os.Stat(filepath.Join(cache, "tmp", "go-graphviz")); err != nil {
		t.Errorf("no private compilation cache: %v", err)
	}
	helpers, _ := filepath.Glob(filepath.Join(cache, "graphviz-*", "gofil-graphviz"))
	if len(helpers) != 1 {
		t.Errorf("helpers in the cache: %v, want one", helpers)
	}
	checkPrivate(t, cache)
	// Without a home: the cache is the user's own directory in TMPDIR.
	drawn("")
	own := filepath.Join(shared, fmt.Sprintf("gofil-%d", os.Getuid()))
	if _, err := os.Stat(filepath.Join(own, "tmp", "go-graphviz")); err != nil {
		t.Errorf("no private compilation cache under %s: %v", own, err)
	}
	checkPrivate(t, own)
	// The program sees the TMPDIR it was given.
	prog := t.TempDir()
	os.WriteFile(filepath.Join(prog, "go.mod"), []byte("module tmpdir\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(prog, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() { fmt.Println(\"TMPDIR=\" + os.Getenv(\"TMPDIR\")) }\n"), 0o644)
	r := gofilEnv(t, prog, append([]string{"TMPDIR=" + shared, "HOME=" + home}, goDirs...),
		"run", "-o", filepath.Join(t.TempDir(), "r"), ".")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "TMPDIR="+shared {
		t.Errorf("the program saw %q (exit %d), want TMPDIR=%s\n%s", r.stdout, r.code, shared, r.stderr)
	}
}

// checkPrivate fails t for anything under dir that another user could
// write, or a file another user could read.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 && p != dir {
			t.Errorf("%s is %v", p, perm)
		}
		return nil
	})
}

// TestAgentCacheIsPrivate: without a home, gofil's cache of the agent's
// source is a directory of the user's own in TMPDIR. One another user owns,
// or anyone else can write, is refused with one line; code planted in the
// user's own cache is found and replaced, never compiled into the program;
// everything in the cache is private.
func TestAgentCacheIsPrivate(t *testing.T) {
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	dirs := strings.Fields(string(goenv))
	tmp := t.TempDir()
	env := []string{"TMPDIR=" + tmp, "HOME=", "XDG_CACHE_HOME=", "GOCACHE=" + dirs[0], "GOMODCACHE=" + dirs[1], "GOPATH=" + dirs[2]}
	cache := filepath.Join(tmp, fmt.Sprintf("gofil-%d", os.Getuid()))
	run := func() result {
		t.Helper()
		return gofilEnv(t, testdata(t, "example"), env, "run", "-o", filepath.Join(t.TempDir(), "report"), ".")
	}

	// Planted by someone else: writable by all, or another user's.
	if err := os.Mkdir(cache, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cache, 0o777)
	if r := run(); r.code != 2 || !strings.Contains(r.stderr, "cache directory") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("with a cache anyone can write: exit code %d, stderr %q; want 2 and one line about the cache directory", r.code, r.stderr)
	}
	if os.Getuid() == 0 {
		os.Chmod(cache, 0o700)
		if err := os.Chown(cache, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if r := run(); r.code != 2 || !strings.Contains(r.stderr, "owned by uid 65534") {
			t.Errorf("with a cache another user owns: exit code %d, stderr %q; want 2, naming the owner", r.code, r.stderr)
		}
	}
	os.RemoveAll(cache)

	if r := run(); r.code != 0 {
		t.Fatalf("gofil run: exit code %d\n%s", r.code, r.stderr)
	}
	agents, _ := filepath.Glob(filepath.Join(cache, "agent-*"))
	if len(agents) != 1 {
		t.Fatalf("agent directories %q, want one", agents)
	}
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: everything in the cache must be the user's alone", p, info.Mode().Perm())
		}
		return nil
	})
	// Code planted in the agent's source, and a changed file.
	planted := filepath.Join(agents[0], "tracker", "planted.go")
	if err := os.WriteFile(planted, []byte("package tracker\n\nfunc init() { panic(\"planted code ran\") }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run()
	if r.code != 0 || strings.Contains(r.stderr, "planted") {
		t.Errorf("after code was planted in the agent cache: exit code %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(planted); err == nil {
		t.Errorf("the planted file is still in the agent cache")
	}
}

// TestReportDirIsPrivate: gofil run makes its report directory itself,
// before the build, and everything in it is the user's alone. An existing
// directory is taken only when it is empty, the user's, and no one else can
// write it; a link in its place is refused.
func TestReportDirIsPrivate(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, os.ModeSticky|0o777)
	out := filepath.Join(shared, "report")
	if r := gofil(t, testdata(t, "example"), "run", "-o", out, "."); r.code != 0 {
		t.Fatalf("gofil run: exit code %d\n%s", r.code, r.stderr)
	}
	n := 0
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		if info, err := d.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: a report is the user's alone", p, info.Mode().Perm())
		}
		return nil
	})
	if n < 5 {
		t.Errorf("only %d entries in the report", n)
	}

	victim := filepath.Join(t.TempDir(), "elsewhere")
	os.Mkdir(victim, 0o700)
	open := filepath.Join(shared, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	for name, dir := range map[string]string{"a link": filepath.Join(shared, "link"), "a directory anyone can write": open} {
		if name == "a link" {
			os.Symlink(victim, dir)
		}
		r := gofil(t, testdata(t, "example"), "run", "-o", dir, ".")
		if r.code != 2 || !strings.Contains(r.stderr, "-o "+dir) {
			t.Errorf("-o %s: exit code %d, stderr %q; want 2 and a line naming it", name, r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(victim); len(entries) > 0 {
			t.Errorf("-o %s: gofil wrote into %s", name, victim)
		}
	}
	if os.Getuid() == 0 {
		theirs := filepath.Join(shared, "theirs")
		os.Mkdir(theirs, 0o755)
		os.Chown(theirs, 65534, 65534)
		if r := gofil(t, testdata(t, "example"), "run", "-o", theirs, "."); r.code != 2 || !strings.Contains(r.stderr, "owned by uid 65534") {
			t.Errorf("-o a directory another user owns: exit code %d, stderr %q", r.code, r.stderr)
		}
	}
}

// TestAgentCacheRefusesTMPDIRsOthersControl: alice and mallory share a
// primary group. Without a home, alice's gofil keeps its cache in TMPDIR; a
// TMPDIR her group can write and that is not sticky, or a sticky one that
// mallory owns, would let mallory move her cache away between gofil's check
// and the build, and swap in an agent of his. gofil refuses either, naming
// it, before it writes anything there. A home she cannot write is no home:
// her own TMPDIR is taken, and the agent written there (the build is then
// made to fail at once: a cold build as another user takes a minute). The
// users exist as ids only, so nothing is left on the system to remove.
func TestAgentCacheRefusesTMPDIRsOthersControl(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("makes other users: needs root")
	}
	const alice, mallory, group = 64201, 64202, 64200
	// Everything alice uses is in a directory she can reach.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(base, "gofil")
	data, err := os.ReadFile(gofilBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// The program too, as a module of its own: the checkout may be in a
	// directory alice cannot reach.
	prog := filepath.Join(base, "example")
	src, err := os.ReadFile(filepath.Join(testdata(t, "example"), "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(prog, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{"main.go": src, "go.mod": []byte("module example.com/example\n\ngo 1.22\n")} {
		if err := os.WriteFile(filepath.Join(prog, name), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	own := filepath.Join(base, "alice")
	for _, d := range []string{own, filepath.Join(own, "tmp"), filepath.Join(own, "home")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, alice, group); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(own, "home"), 0o500)
	goEnv := []string{"XDG_CACHE_HOME=", "GOCACHE=" + filepath.Join(own, "gocache"), "GOPATH=" + filepath.Join(own, "go"), "GOMODCACHE=" + filepath.Join(own, "go", "mod"), "GOPROXY=off"}
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice, Gid: group}}
	goCmd := exec.Command("go", "env", "GOROOT")
	goCmd.Env = append(os.Environ(), goEnv...)
	goCmd.SysProcAttr = cred
	if out, err := goCmd.CombinedOutput(); err != nil {
		t.Skipf("another user cannot run the go command here: %v\n%s", err, out)
	}
	asAlice := func(tmpdir, home string, flags ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args := append([]string{"run", "-o", filepath.Join(own, fmt.Sprintf("report-%d", time.Now().UnixNano()))}, flags...)
		cmd := exec.CommandContext(ctx, bin, append(args, ".")...)
		cmd.Dir = prog
		cmd.Env = append(os.Environ(), append(goEnv, "TMPDIR="+tmpdir, "HOME="+home)...)
		cmd.SysProcAttr = cred
		return runGofil(t, cmd)
	}

	for _, c := range []struct {
		name         string
		owner, group int
		mode         os.FileMode
		want         string
	}{
		{"writable by the group, not sticky", 0, group, os.ModeSetgid | 0o775, "which others can write (0775) and which is not sticky"},
		{"sticky, mallory's", mallory, group, os.ModeSticky | 0o777, fmt.Sprintf("which uid %d owns", mallory)},
	} {
		shared := filepath.Join(base, fmt.Sprintf("shared-%d", c.owner))
		if err := os.Mkdir(shared, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(shared, c.owner, c.group); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shared, c.mode); err != nil {
			t.Fatal(err)
		}
		r := asAlice(shared, "")
		if r.code != 2 || !strings.Contains(r.stderr, "cache directory") || !strings.Contains(r.stderr, "in "+shared+", "+c.want) {
			t.Errorf("TMPDIR %s: exit code %d, stderr %q; want 2 and a line saying why %s is refused", c.name, r.code, r.stderr, shared)
		}
		if agents, _ := filepath.Glob(filepath.Join(shared, "*", "agent-*")); len(agents) > 0 {
			t.Errorf("TMPDIR %s: the agent was written to %q", c.name, agents)
		}
	}

	tmp := filepath.Join(own, "tmp")
	r := asAlice(tmp, filepath.Join(own, "home"), "--build-flag=-toolexec=/bin/false")
	if strings.Contains(r.stderr, "cache directory") || !strings.Contains(r.stderr, "does not build") {
		t.Errorf("with a read-only home: exit code %d, stderr %q; want the build to be reached", r.code, r.stderr)
	}
	if agents, _ := filepath.Glob(filepath.Join(tmp, fmt.Sprintf("gofil-%d", alice), "agent-*")); len(agents) != 1 {
		t.Errorf("with a read-only home: agent directories %q in TMPDIR, want one", agents)
	}
}
