package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// TestWorkspaceAndCgo runs a cgo program in a go.work workspace whose
// library module is only in the workspace: 48 MiB held in the library's
// Go code, 64 MiB in C's malloc, reported outside the Go heap. The
// workspace's files are left as they were.
func TestWorkspaceAndCgo(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	files := map[string]string{
		"go.work":    "go 1.22\n\nuse (\n\t./app\n\t./lib\n)\n",
		"lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
		"lib/lib.go": `package lib

// Hold holds n MiB.
func Hold(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		out = append(out, b)
	}
	return out
}
`,
		"app/go.mod": "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n",
		"app/main.go": `package main

/*
#include <stdlib.h>
#include <string.h>
static void* grab(size_t n) { void* p = malloc(n); memset(p, 1, n); return p; }
*/
import "C"

import (
	"fmt"
	"runtime"

	"example.com/lib"
)

func main() {
	p := C.grab(64 << 20)
	b := lib.Hold(48)
	runtime.GC()
	fmt.Println(len(b), p != nil)
	runtime.KeepAlive(b)
}
`,
	}
	writeTree(t, ws, files)
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, filepath.Join(ws, "app"), "run", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	if got := inclusive(r.summary, "example.com/lib.Hold"); !within(got, 48*mib, 0.05) {
		t.Errorf("example.com/lib.Hold holds %d bytes, want 48 MiB ±5%%", got)
	}
	if got := int64(r.summary.Peak.OutsideHeapBytes); !within(got, 64*mib, 0.10) {
		t.Errorf("outside the Go heap: %d bytes, want 64 MiB ±10%% (C's malloc)", got)
	}
	for dir, want := range map[string]int{ws: 3, filepath.Join(ws, "app"): 2, filepath.Join(ws, "lib"): 2} {
		if entries, _ := os.ReadDir(dir); len(entries) != want {
			t.Errorf("%s now holds %d entries, want %d: gofil must not add files", dir, len(entries), want)
		}
	}
}

// TestVendor runs a module with a vendor directory; gofil builds it with
// -mod=mod, since the tracker is not in vendor/modules.txt.
func TestVendor(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	files := map[string]string{
		"dep/go.mod":  "module example.com/dep\n\ngo 1.22\n",
		"dep/dep.go":  "package dep\n\n// Hold holds n MiB.\nfunc Hold(n int) [][]byte {\n\tvar out [][]byte\n\tfor i := 0; i < n; i++ {\n\t\tb := make([]byte, 1<<20)\n\t\tfor j := 0; j < len(b); j += 4096 {\n\t\t\tb[j] = 1\n\t\t}\n\t\tout = append(out, b)\n\t}\n\treturn out\n}\n",
		"app/go.mod":  "module example.com/app\n\ngo 1.22\n\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ../dep\n",
		"app/main.go": "package main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n\n\t\"example.com/dep\"\n)\n\nfunc main() {\n\tb := dep.Hold(32)\n\truntime.GC()\n\tfmt.Println(len(b))\n\truntime.KeepAlive(b)\n}\n",
	}
	writeTree(t, root, files)
	app := filepath.Join(root, "app")
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = app
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, app, "run", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	if got := inclusive(r.summary, "example.com/dep.Hold"); !within(got, 32*mib, 0.05) {
		t.Errorf("example.com/dep.Hold holds %d bytes, want 32 MiB ±5%%", got)
	}
}

// writeTree writes files, named by their paths under root, making the
// directories they need.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDirWithoutGoMod: gofil run DIR for a directory of Go files with no
// go.mod anywhere above it builds and profiles it, as go run would with
// the files named; the heap is attributed to its own function.
func TestDirWithoutGoMod(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // under TMPDIR: no go.mod above it
	src := "package main\n\nimport \"fmt\"\n\nvar keep [][]byte\n\nfunc load() {\n\tfor i := 0; i < 40; i++ {\n\t\tkeep = append(keep, make([]byte, 1<<20))\n\t}\n}\n\nfunc main() {\n\tload()\n\tfmt.Println(\"loaded\", len(keep))\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for p := dir; p != filepath.Dir(p); p = filepath.Dir(p) {
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			t.Skipf("%s has a go.mod above it", dir)
		}
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, dir, "run", "-o", out, dir)
	if r.code != 0 || !strings.Contains(r.stdout, "loaded 40") {
		t.Fatalf("exit code %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	if got := inclusive(r.summary, "main.load"); !within(got, 40<<20, 0.05) {
		t.Errorf("main.load holds %d bytes, want 40 MiB ±5%%", got)
	}
}

// proxyModules fetches modules (path@version) through the module proxy
// the go command is set to use into a module cache shared by the tests of
// this binary, and returns the environment that points the go command, and
// so gofil, at that cache. Without the proxy the test is skipped, unless
// CI is set: then it fails.
func proxyModules(t *testing.T, mods ...string) []string {
	t.Helper()
	env := []string{
		"GOMODCACHE=" + filepath.Join(testRoot, "modcache"),
		// Writable, so that TestMain can remove it.
		"GOFLAGS=" + strings.TrimSpace(os.Getenv("GOFLAGS")+" -modcacherw"),
		"GOTOOLCHAIN=local",
		"GOWORK=off",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"mod", "download"}, mods...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("fetching %v through the module proxy: %v\n%s", mods, err, out)
		}
		t.Skipf("the module proxy is unreachable (%v), and CI is not set: skipped\n%s", err, out)
	}
	return env
}

// goEnv runs the go command in dir with env added.
func goEnv(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

const colorsGo = "package colors\n\ntype Color int\n\nconst (\n\tRed Color = iota\n\tGreen\n\tBlue\n)\n"

// TestModuleCacheCommand runs a real command from the module cache by its
// package path, in a module that requires its module: x/tools' stringer.
// The go command refuses overlays there, and this once failed. The
// module's files are left as they were.
func TestModuleCacheCommand(t *testing.T) {
	t.Parallel()
	env := proxyModules(t, "golang.org/x/tools@v0.30.0")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":    "module example.com/colors\n\ngo 1.22\n",
		"colors.go": colorsGo,
	})
	goEnv(t, dir, env, "get", "golang.org/x/tools/cmd/stringer@v0.30.0")
	goMod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	goSum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	out := filepath.Join(t.TempDir(), "report")
	r := gofilEnv(t, dir, env, "run", "-o", out, "golang.org/x/tools/cmd/stringer", "--", "-type", "Color")
	if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
		t.Fatalf("exit code %d, summary %v\n%s", r.code, r.summary != nil, r.stderr)
	}
	if gen, err := os.ReadFile(filepath.Join(dir, "color_string.go")); err != nil || !strings.Contains(string(gen), "func (i Color) String() string") {
		t.Errorf("stringer did not write color_string.go: %v", err)
	}
	if m, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !bytes.Equal(m, goMod) {
		t.Errorf("go.mod changed:\n%s", m)
	}
	if s, _ := os.ReadFile(filepath.Join(dir, "go.sum")); !bytes.Equal(s, goSum) {
		t.Errorf("go.sum changed")
	}
}

// TestVersionedCommand runs a real command by pkg@version, as go run
// takes it, in a directory outside any module.
func TestVersionedCommand(t *testing.T) {
	t.Parallel()
	env := proxyModules(t, "golang.org/x/tools@v0.30.0")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"colors.go": colorsGo})
	for p := dir; p != filepath.Dir(p); p = filepath.Dir(p) {
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			t.Skipf("%s has a go.mod above it", dir)
		}
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofilEnv(t, dir, env, "run", "-o", out, "golang.org/x/tools/cmd/stringer@v0.30.0", "--", "-type", "Color", "colors.go")
	if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
		t.Fatalf("exit code %d, summary %v\n%s", r.code, r.summary != nil, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "color_string.go")); err != nil {
		t.Errorf("stringer did not write color_string.go: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		t.Errorf("gofil left a go.mod in %s", dir)
	}
}

// TestEsbuild runs esbuild by its package path, from a module that
// requires it: a command in the module cache whose module says go 1.13
// (gofil's agent, which uses generics, once took that go line and did not
// compile). It bundles a generated file; the report puts esbuild's main
// package at its own file in the module cache.
func TestEsbuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds esbuild")
	}
	env := proxyModules(t, "github.com/evanw/esbuild@v0.28.2")
	dir := t.TempDir()
	var js strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&js, "export function f%d(a) { return [a, %d, \"s%d\"].join(\",\"); }\n", i, i, i)
	}
	writeTree(t, dir, map[string]string{
		"go.mod": "module example.com/bundle\n\ngo 1.22\n",
		"in.js":  js.String(),
	})
	goEnv(t, dir, env, "get", "github.com/evanw/esbuild/cmd/esbuild@v0.28.2")
	esbuild := filepath.Join(testRoot, "modcache", "github.com", "evanw", "esbuild@v0.28.2")
	if mod, err := os.ReadFile(filepath.Join(esbuild, "go.mod")); err != nil || !strings.Contains(string(mod), "\ngo 1.13\n") {
		t.Fatalf("esbuild's go.mod does not say go 1.13 (%v):\n%s", err, mod)
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofilEnv(t, dir, env, "run", "-o", out, "github.com/evanw/esbuild/cmd/esbuild", "--", "in.js", "--bundle", "--outfile=out.js")
	if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
		t.Fatalf("exit code %d, summary %v\n%s", r.code, r.summary != nil, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.js")); err != nil {
		t.Errorf("esbuild wrote no bundle: %v", err)
	}
	f, err := os.Open(filepath.Join(out, "peak.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	mainFile := filepath.Join(esbuild, "cmd", "esbuild", "main.go")
	found := false
	for _, fn := range p.Function {
		if fn.Name == "main.main" {
			found = true
			if fn.Filename != mainFile {
				t.Errorf("main.main is in %s, want %s", fn.Filename, mainFile)
			}
		}
	}
	if !found {
		t.Errorf("main.main is in no stack at the peak")
	}
}

// TestBuildSettings: the user's build settings reach every go command
// gofil runs, and the agent builds beside any go line the go command
// takes. Each case once failed: a module at go 1.13 did not compile (the
// agent, which uses generics, took its go line); with --tags the tracker
// went into the file the tags exclude, and wrote nothing; -ldflags in
// GOFLAGS was replaced by gofil's own; a syntax error in main's file was
// reported as "no func main".
func TestBuildSettings(t *testing.T) {
	const holder = "package main\n\nimport \"fmt\"\n\nvar version = \"none\"\n\nvar keep [][]byte\n\nfunc main() {\n\tfor i := 0; i < 16; i++ {\n\t\tkeep = append(keep, make([]byte, 1<<20))\n\t}\n\tfmt.Println(version, len(keep))\n}\n"
	cases := []struct {
		name   string
		files  map[string]string
		env    []string
		args   []string
		stdout string
	}{
		{"go1.13", map[string]string{"go.mod": "module example.com/old\n\ngo 1.13\n", "main.go": holder}, nil, nil, "none 16\n"},
		{"tags", map[string]string{
			"go.mod":       "module example.com/tags\n\ngo 1.22\n",
			"main_dev.go":  "//go:build !prod\n\npackage main\n\nfunc main() {}\n",
			"main_prod.go": "//go:build prod\n\n" + holder,
		}, nil, []string{"--tags", "prod"}, "none 16\n"},
		{"ldflags", map[string]string{"go.mod": "module example.com/ver\n\ngo 1.22\n", "main.go": holder},
			[]string{"GOFLAGS=-ldflags=-X=main.version=1.2.3"}, nil, "1.2.3 16\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			out := filepath.Join(t.TempDir(), "report")
			args := append(append([]string{"run", "-o", out}, c.args...), ".")
			r := gofilEnv(t, dir, c.env, args...)
			if r.code != 0 || r.stdout != c.stdout {
				t.Fatalf("exit code %d, stdout %q, want %q\n%s", r.code, r.stdout, c.stdout, r.stderr)
			}
			// The tracker is in the build when it sees the program's 16
			// MiB, at the end. (On a loaded machine the GC before the last
			// allocations, whose only reading came after them, was once
			// given that reading's heap, and tied with the end.)
			if r.summary == nil || r.summary.Peak == nil || r.summary.Peak.HeapBytes < 16*mib {
				t.Errorf("the tracker did not see the 16 MiB the program holds\n%s", r.stderr)
			}
		})
	}
	t.Run("syntax", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{
			"go.mod":  "module example.com/bad\n\ngo 1.22\n",
			"main.go": "package main\n\nfunc main() {\n\tx :=\n}\n",
		})
		r := gofil(t, dir, "run", "-o", filepath.Join(t.TempDir(), "report"), ".")
		if r.code == 0 || !strings.Contains(r.stderr, "main.go:5:1: syntax error") {
			t.Errorf("exit code %d, want the compiler's syntax error:\n%s", r.code, r.stderr)
		}
	})
}
