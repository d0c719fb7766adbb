package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGraphvizCacheIsPrivate: go-graphviz's compilation cache, which its
// package initialisation opens under os.TempDir before main runs, is never
// in a shared TMPDIR: it goes to the user's own cache directory, or, when
// there is none, nowhere. A cache another user planted in the shared
// TMPDIR is not touched. The program gofil runs still gets the user's
// TMPDIR.
func TestGraphvizCacheIsPrivate(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o1777)
	planted := filepath.Join(shared, "go-graphviz")
	if err := os.Mkdir(planted, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(planted, "planted"), []byte("not machine code"), 0o666); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	r := gofilEnv(t, t.TempDir(), []string{"TMPDIR=" + shared, "HOME=" + home, "XDG_CACHE_HOME="}, "help")
	if r.code != 0 {
		t.Fatalf("gofil help: exit code %d\n%s", r.code, r.stderr)
	}
	entries, err := os.ReadDir(planted)
	if err != nil || len(entries) != 1 {
		t.Errorf("the planted cache was touched: %v, %v", entries, err)
	}
	if _, err := os.Stat(filepath.Join(home, ".cache", "gofil", "tmp", "go-graphviz")); err != nil {
		t.Errorf("no private compilation cache: %v", err)
	}
	// Without a home, no cache at all, and still none in the shared TMPDIR.
	os.RemoveAll(planted)
	r = gofilEnv(t, t.TempDir(), []string{"TMPDIR=" + shared, "HOME=", "XDG_CACHE_HOME="}, "help")
	if r.code != 0 {
		t.Fatalf("gofil help without HOME: exit code %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(planted); err == nil {
		t.Errorf("go-graphviz made its cache in the shared TMPDIR %s", shared)
	}
	// The program sees the TMPDIR it was given.
	prog := t.TempDir()
	os.WriteFile(filepath.Join(prog, "go.mod"), []byte("module tmpdir\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(prog, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() { fmt.Println(\"TMPDIR=\" + os.Getenv(\"TMPDIR\")) }\n"), 0o644)
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dirs := strings.Fields(string(goenv))
	r = gofilEnv(t, prog, []string{"TMPDIR=" + shared, "HOME=" + home, "GOCACHE=" + dirs[0], "GOMODCACHE=" + dirs[1]},
		"run", "-o", filepath.Join(t.TempDir(), "r"), ".")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "TMPDIR="+shared {
		t.Errorf("the program saw %q (exit %d), want TMPDIR=%s\n%s", r.stdout, r.code, shared, r.stderr)
	}
}
