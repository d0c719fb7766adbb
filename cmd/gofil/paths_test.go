package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil/report/heap"
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

// TestSemicolonInDir: a program in a directory whose path holds a
// semicolon keeps its file names whole. The go command names an overlaid
// file through a list of path rewrites it joins with semicolons, which cut
// the name of the file gofil adds its tracker to at the first one
// (main.go's sites read ".../a:26"). The panic's trace and the report name
// main.go by its full path, at the line of the allocation; so they do when
// the semicolon is in the home, where gofil's cache is.
func TestSemicolonInDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a;b", "exits")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(testdata(t, "exits"), "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/exits\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _, ok := bytes.Cut(src, []byte("b := make([]byte, 1<<20)"))
	if !ok {
		t.Fatal("testdata/exits/main.go: no allocation in main.hold")
	}
	allocLine := bytes.Count(before, []byte("\n")) + 1
	mainFile := filepath.Join(dir, "main.go")

	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, dir, "run", "-o", out, ".", "--", "panic")
	if r.code != 2 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v; want 2 and a report\n%s", r.code, r.summary != nil, r.stderr)
	}
	if !strings.Contains(r.stderr, "main.main()\n\t"+mainFile+":") {
		t.Errorf("the panic's trace does not name %s:\n%s", mainFile, r.stderr)
	}
	checkSite(t, r.summary.Top, "main.hold", mainFile, allocLine)

	// A semicolon in the cache's path, under the home, cuts the rewrite
	// too: the name was that of the overlay's file in the cache.
	env, _, _ := goEnvFor(t)
	home := filepath.Join(t.TempDir(), "h;ome")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "report")
	exits := testdata(t, "exits")
	r = gofilEnv(t, exits, append(env, "HOME="+home), "run", "-o", out, ".", "--", "panic")
	if r.code != 2 || r.summary == nil {
		t.Fatalf("with HOME=%s: exit code %d, summary %v; want 2 and a report\n%s", home, r.code, r.summary != nil, r.stderr)
	}
	checkSite(t, r.summary.Top, "main.hold", filepath.Join(exits, "main.go"), allocLine)
}

// TestSemicolonInDirCgo: a cgo file given by -overlay in a directory whose
// path holds a semicolon does not build ("main.cgo2.c: No such file or
// directory"): cgo names its output by the file's name cut at the
// semicolon. A cgo program's package in such a directory is built from a
// stand-in: it runs, the report holds the 32 MiB main.hold allocates in
// Go and names main.go in full, and the program's directory is left as it
// was. Named by its files, the program gets one line saying why gofil
// cannot run it, and no report directory.
func TestSemicolonInDirCgo(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a;b", "app")
	src := `package main

/*
#include <stdlib.h>
#include <string.h>
static void* grab(size_t n) { void* p = malloc(n); memset(p, 1, n); return p; }
*/
import "C"

import (
	"fmt"
	"runtime"
)

var held [][]byte

func hold() {
	for i := 0; i < 32; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
	}
}

func main() {
	p := C.grab(16 << 20)
	hold()
	runtime.GC()
	fmt.Println(len(held), p != nil)
}
`
	writeTree(t, dir, map[string]string{"go.mod": "module example.com/app\n\ngo 1.22\n", "main.go": src})
	before, _, _ := strings.Cut(src, "b := make([]byte, 1<<20)")
	allocLine := strings.Count(before, "\n") + 1
	mainFile := filepath.Join(dir, "main.go")

	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, dir, "run", "-o", out, ".")
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v; want 0 and a report\n%s", r.code, r.summary != nil, r.stderr)
	}
	if got := inclusive(r.summary, "main.hold"); !within(got, 32*mib, 0.05) {
		t.Errorf("main.hold holds %d bytes, want 32 MiB ±5%%", got)
	}
	checkSite(t, r.summary.Top, "main.hold", mainFile, allocLine)
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%s now holds %d entries, want 2: gofil must not add files", dir, len(entries))
	}

	out = filepath.Join(t.TempDir(), "report")
	r = gofil(t, dir, "run", "-o", out, "main.go")
	if r.code != 2 || !strings.Contains(r.stderr, "semicolon") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("gofil run main.go: exit code %d, stderr %q; want 2 and one line about the semicolon", r.code, r.stderr)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("the failed run left its report directory %s", out)
	}
}

// checkSite checks that fn's largest site at the peak is file:line, and
// that every site of fn is in file.
func checkSite(t *testing.T, top []heap.Site, fn, file string, line int) {
	t.Helper()
	var largest *heap.Site
	for i, s := range top {
		if s.Function != fn {
			continue
		}
		if s.File != file {
			t.Errorf("%s has a site in %s:%d, want %s", fn, s.File, s.Line, file)
		}
		if largest == nil || s.Bytes > largest.Bytes {
			largest = &top[i]
		}
	}
	if largest == nil {
		t.Errorf("%s is not among the sites at the peak: %+v", fn, top)
	} else if largest.Line != line {
		t.Errorf("%s's largest site is at line %d, want %d", fn, largest.Line, line)
	}
}
