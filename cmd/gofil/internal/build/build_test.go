package build

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"github.com/gofil/gofil"
)

// proxyDir is a module proxy on disk shared by the tests of this binary,
// and modCache the module cache they fill from it, both made by TestMain.
var proxyDir, modCache string

func TestMain(m *testing.M) {
	if os.Getenv(holdEnv) != "" {
		hold()
	}
	root, err := os.MkdirTemp("", "gofil-build-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	proxyDir, modCache = filepath.Join(root, "proxy"), filepath.Join(root, "modcache")
	if err := writeProxy(proxyDir, filepath.Join(root, "src")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(root)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(root) // the tests set -modcacherw: the cache can be removed
	os.Exit(code)
}

// toolMain is package main of example.com/tool/cmd/tool. Its closures
// capture one loop variable at the module's go 1.13, three from go 1.22
// on: it prints "3 3 3" only when compiled at its module's language.
const toolMain = `package main

import (
	"fmt"
	"os"

	"example.com/tool/internal/hold"
)

func main() {
	var fs []func() int
	for i := 0; i < 3; i++ {
		fs = append(fs, func() int { return i })
	}
	fmt.Println(fs[0](), fs[1](), fs[2](), len(hold.Hold(2)))
	if len(os.Args) > 1 && os.Args[1] == "panic" {
		panic("asked to")
	}
}
`

// toolPanicLine is the line of toolMain's panic.
const toolPanicLine = 17

// proxyModules are the modules the proxy serves, by path@version, each
// with its files. example.com/tool, at go 1.13 as esbuild is, has a
// command that imports one of its internal packages; v1.1.0 has a
// replace directive, which `go run pkg@version` refuses.
var proxyModules = map[string]map[string]string{
	"example.com/tool@v1.0.0": {
		"go.mod":                "module example.com/tool\n\ngo 1.13\n",
		"internal/hold/hold.go": "package hold\n\n// Hold holds n MiB.\nfunc Hold(n int) [][]byte {\n\tvar out [][]byte\n\tfor i := 0; i < n; i++ {\n\t\tout = append(out, make([]byte, 1<<20))\n\t}\n\treturn out\n}\n",
		"cmd/tool/main.go":      toolMain,
	},
	"example.com/tool@v1.1.0": {
		"go.mod":           "module example.com/tool\n\ngo 1.13\n\nreplace example.com/other => ./other\n",
		"cmd/tool/main.go": "package main\n\nfunc main() {}\n",
	},
}

// writeProxy writes proxyModules as a GOPROXY=file:// directory, making
// each module's zip from its files written under src.
func writeProxy(proxy, src string) error {
	versions := map[string][]string{}
	for pv, files := range proxyModules {
		path, version, _ := strings.Cut(pv, "@")
		versions[path] = append(versions[path], version)
		dir := filepath.Join(src, pv)
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
		esc, err := module.EscapePath(path)
		if err != nil {
			return err
		}
		at := filepath.Join(proxy, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(at, 0o755); err != nil {
			return err
		}
		var z bytes.Buffer
		if err := zip.CreateFromDir(&z, module.Version{Path: path, Version: version}, dir); err != nil {
			return err
		}
		info := fmt.Sprintf(`{"Version":%q,"Time":"2024-01-01T00:00:00Z"}`, version)
		for name, data := range map[string][]byte{".info": []byte(info), ".mod": []byte(files["go.mod"]), ".zip": z.Bytes()} {
			if err := os.WriteFile(filepath.Join(at, version+name), data, 0o644); err != nil {
				return err
			}
		}
	}
	for path, vs := range versions {
		esc, _ := module.EscapePath(path)
		slices.Sort(vs)
		list := strings.Join(vs, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(proxy, filepath.FromSlash(esc), "@v", "list"), []byte(list), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// useProxy points the go command at the test proxy and module cache, and
// keeps it from fetching anything else, a newer toolchain included.
func useProxy(t *testing.T) {
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(proxyDir))
	t.Setenv("GOMODCACHE", modCache)
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOFLAGS", "-modcacherw")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOWORK", "")
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func goIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// buildIt builds t and returns the binary.
func buildIt(t *testing.T, target Target, flags ...string) (string, error) {
	t.Helper()
	skipShort(t)
	bin := filepath.Join(t.TempDir(), "prog")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := Build(ctx, target, Options{Output: bin, CacheDir: t.TempDir(), Flags: flags})
	return bin, err
}

func mustBuild(t *testing.T, target Target, flags ...string) string {
	t.Helper()
	bin, err := buildIt(t, target, flags...)
	if err != nil {
		var be *Error
		if errors.As(err, &be) {
			t.Fatalf("%v\n%s", err, be.Output)
		}
		t.Fatal(err)
	}
	return bin
}

// run runs bin with args and returns its stdout and stderr.
func run(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// linksAgent reports whether the binary links the tracker.
func linksAgent(t *testing.T, bin string) bool {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(info.Deps, func(m *debug.Module) bool { return m.Path == gofil.AgentModule })
}

// TestModuleCachePackage: a command of a module the user's module
// requires, in the module cache, where the go command refuses overlays,
// builds with the tracker by its package path, alone, in a workspace, or
// with -trimpath. It is compiled at its own module's language (go 1.13),
// imports its module's internal package, and its panic trace names its
// own file in the module cache, as `go build` names it. The user's files
// are left as they were.
func TestModuleCachePackage(t *testing.T) {
	useProxy(t)
	for _, c := range []struct {
		name      string
		workspace bool
		flags     []string
	}{{"module", false, nil}, {"workspace", true, nil}, {"trimpath", false, []string{"-trimpath"}}} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			user := filepath.Join(root, "user")
			writeTree(t, user, map[string]string{
				"go.mod":  "module example.com/user\n\ngo 1.22\n",
				"main.go": "package main\n\nfunc main() {}\n",
			})
			goIn(t, user, "get", "example.com/tool@v1.0.0")
			if c.workspace {
				writeTree(t, root, map[string]string{"go.work": "go 1.22\n\nuse ./user\n"})
			}
			before := snapshot(t, root)
			bin := mustBuild(t, Target{Package: "example.com/tool/cmd/tool", Dir: user}, c.flags...)
			if !linksAgent(t, bin) {
				t.Errorf("the binary does not link the tracker")
			}
			stdout, stderr, err := run(t, bin)
			if err != nil || stdout != "3 3 3 2\n" {
				t.Errorf("got %q, %v, want \"3 3 3 2\" (the module's go 1.13 loop semantics)\n%s", stdout, err, stderr)
			}
			_, stderr, _ = run(t, bin, "panic")
			file := filepath.Join(modCache, "example.com", "tool@v1.0.0", "cmd", "tool", "main.go")
			if c.flags != nil {
				file = "example.com/tool@v1.0.0/cmd/tool/main.go"
			}
			want := fmt.Sprintf("main.main()\n\t%s:%d ", file, toolPanicLine)
			if !strings.Contains(stderr, want) {
				t.Errorf("the panic's trace does not say %q:\n%s", want, stderr)
			}
			if after := snapshot(t, root); !maps.Equal(before, after) {
				t.Errorf("gofil changed the user's files:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestVersionedPackage: pkg@version builds as `go run` takes it, outside
// any module, with version queries; a module whose go.mod holds a
// replace directive is refused, as go run refuses it.
func TestVersionedPackage(t *testing.T) {
	useProxy(t)
	dir := t.TempDir() // no go.mod above it
	for _, q := range []string{"v1.0.0", "v1.0"} {
		bin := mustBuild(t, Target{Package: "example.com/tool/cmd/tool@" + q, Dir: dir})
		if !linksAgent(t, bin) {
			t.Errorf("@%s: the binary does not link the tracker", q)
		}
		if stdout, stderr, err := run(t, bin); err != nil || stdout != "3 3 3 2\n" {
			t.Errorf("@%s: got %q, %v, want \"3 3 3 2\"\n%s", q, stdout, err, stderr)
		}
	}
	// latest is v1.1.0, whose go.mod holds a replace directive.
	_, err := buildIt(t, Target{Package: "example.com/tool/cmd/tool@latest", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "example.com/tool@v1.1.0") || !strings.Contains(err.Error(), "replace directives") {
		t.Errorf("a module with a replace directive: got %v, want a refusal", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the build wrote %d entries in the directory it ran in", len(entries))
	}
}

// TestGoDistributionCommand: a command of the Go distribution is refused
// with a message that says why.
func TestGoDistributionCommand(t *testing.T) {
	_, err := buildIt(t, Target{Package: "cmd/gofmt", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "command of the Go distribution") {
		t.Errorf("got %v, want a refusal", err)
	}
}

// TestOldGoLines: a main module whose go line is older than the agent's
// language (generics came in 1.18) builds, its own files compiled at its
// own language version.
func TestOldGoLines(t *testing.T) {
	for _, v := range []string{"1.13", "1.16", "1.17"} {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{
				"go.mod":  "module example.com/old\n\ngo " + v + "\n",
				"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tvar fs []func() int\n\tfor i := 0; i < 3; i++ {\n\t\tfs = append(fs, func() int { return i })\n\t}\n\tfmt.Println(fs[0](), fs[1](), fs[2]())\n}\n",
			})
			bin := mustBuild(t, Target{Package: ".", Dir: dir})
			if stdout, stderr, err := run(t, bin); err != nil || stdout != "3 3 3\n" {
				t.Errorf("got %q, %v, want \"3 3 3\"\n%s", stdout, err, stderr)
			}
		})
	}
}

// TestAgentLanguage: the agent, as gofil writes it, is a module at go
// 1.19 that compiles at that language version.
func TestAgentLanguage(t *testing.T) {
	dir, lock, err := writeAgent(t.TempDir(), gofil.AgentSource)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "\ngo 1.19\n") {
		t.Fatalf("the agent's go.mod says\n%s\nwant go 1.19", mod)
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the agent does not compile at go 1.19: %v\n%s", err, out)
	}
}

// TestTagsReachList: with -tags, the tracker goes into the file of func
// main that the build takes, not into one the tags exclude.
func TestTagsReachList(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":      "module example.com/tags\n\ngo 1.22\n",
		"main_dev.go": "//go:build !prod\n\npackage main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"dev\") }\n",
		"main_prd.go": "//go:build prod\n\npackage main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"prod\") }\n",
	})
	for _, flags := range [][]string{{"-tags=prod"}, {"-tags", "prod"}} {
		bin := mustBuild(t, Target{Package: ".", Dir: dir}, flags...)
		if stdout, _, _ := run(t, bin); stdout != "prod\n" {
			t.Errorf("%v: the program printed %q, want prod", flags, stdout)
		}
		if !linksAgent(t, bin) {
			t.Errorf("%v: the binary does not link the tracker", flags)
		}
	}
}

// TestKeepsUserLdflags: the user's -ldflags, in GOFLAGS or on the command
// line, reach the linker beside gofil's own.
func TestKeepsUserLdflags(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":  "module example.com/ver\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"none\"\n\nfunc main() { fmt.Println(version) }\n",
	})
	cases := []struct {
		goflags string
		flags   []string
		want    string
	}{
		{"-ldflags=-X=main.version=1.2.3", nil, "1.2.3"},
		{"'-ldflags=-X main.version=1.2.4 -s'", nil, "1.2.4"},
		{"-ldflags=-X=main.version=1.2.3", []string{"-ldflags=-X=main.version=4.5.6"}, "4.5.6"},
		{"", []string{"-ldflags", "all=-X=main.version=7.8.9"}, "7.8.9"},
	}
	for _, c := range cases {
		t.Setenv("GOFLAGS", c.goflags)
		bin := mustBuild(t, Target{Package: ".", Dir: dir}, c.flags...)
		if stdout, _, _ := run(t, bin); stdout != c.want+"\n" {
			t.Errorf("GOFLAGS=%s %v: the program printed %q, want %s", c.goflags, c.flags, stdout, c.want)
		}
	}
}

// TestSyntaxError: a syntax error in main's file is reported as the
// compiler reports it.
func TestSyntaxError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":  "module example.com/bad\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() {\n\tx :=\n}\n",
	})
	_, err := buildIt(t, Target{Package: ".", Dir: dir})
	var be *Error
	if !errors.As(err, &be) || !strings.Contains(be.Output, "main.go:5:1: syntax error") {
		t.Fatalf("got %v, want the compiler's syntax error", err)
	}
}

func TestGoVersionLine(t *testing.T) {
	for in, want := range map[string]string{
		"go1.26.8": "1.26.8", "go1.27rc1": "1.27rc1", "go1.26.8 X:jsonv2": "1.26.8",
		"devel go1.27-1f2e3d4 Mon Jan 1": "1.27", "": "1.21",
	} {
		if got := goVersionLine(in); got != want {
			t.Errorf("goVersionLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBoolFlag(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  bool
	}{
		{nil, false}, {[]string{"-trimpath"}, true}, {[]string{"--trimpath=true"}, true},
		{[]string{"-trimpath", "-trimpath=false"}, false}, {[]string{"-trimpathx"}, false},
	} {
		if got := boolFlag(c.flags, "-trimpath"); got != c.want {
			t.Errorf("boolFlag(%q) = %v, want %v", c.flags, got, c.want)
		}
	}
}

func TestSplitGOFLAGS(t *testing.T) {
	got, err := splitGOFLAGS(" -mod=mod\t'-ldflags=-X a=b -s' \"-tags=x y\"  -trimpath ")
	want := []string{"-mod=mod", "-ldflags=-X a=b -s", "-tags=x y", "-trimpath"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v, want %q", got, err, want)
	}
	if _, err := splitGOFLAGS("'-ldflags=-s"); err == nil {
		t.Error("an unterminated quote is not an error")
	}
}

func TestBuildFlags(t *testing.T) {
	cases := []struct {
		goflags, flags, want []string
	}{
		{nil, nil, []string{"-ldflags=-checklinkname=0", "-tags=gofil_linkname"}},
		{nil, []string{"-race", "-tags=x"}, []string{"-race", "-ldflags=-checklinkname=0", "-tags=x,gofil_linkname"}},
		{[]string{"-ldflags=-X=main.v=1"}, nil,
			[]string{"-ldflags=-checklinkname=0", "-ldflags=-checklinkname=0 -X=main.v=1", "-tags=gofil_linkname"}},
		{[]string{"-mod=mod", "--ldflags=-s"}, []string{"-ldflags", "-w", "-race"},
			[]string{"-race", "-ldflags=-checklinkname=0", "-ldflags=-checklinkname=0 -s", "-ldflags=-checklinkname=0 -w", "-tags=gofil_linkname"}},
		{nil, []string{"-ldflags=all=-s -w"}, []string{"-ldflags=-checklinkname=0", "-ldflags=all=-checklinkname=0 -s -w", "-tags=gofil_linkname"}},
		{nil, []string{"-ldflags="}, []string{"-ldflags=-checklinkname=0", "-ldflags=-checklinkname=0", "-tags=gofil_linkname"}},
		// -tags: the command line's replaces GOFLAGS', and gofil's tag
		// joins whichever wins, in either of the go command's forms.
		{[]string{"-tags=a b"}, nil, []string{"-ldflags=-checklinkname=0", "-tags=a,b,gofil_linkname"}},
		{[]string{"-tags=a"}, []string{"-tags", "prod"}, []string{"-ldflags=-checklinkname=0", "-tags=prod,gofil_linkname"}},
	}
	for _, c := range cases {
		if got := buildFlags(c.goflags, c.flags, nil); !slices.Equal(got, c.want) {
			t.Errorf("buildFlags(%q, %q) = %q, want %q", c.goflags, c.flags, got, c.want)
		}
	}
}

// TestBuildFlagsOwn: gofil's own linker flags join its first -ldflags
// value and every one of the user's, before the user's flags (after a
// package pattern), so that whichever value the main package takes has
// them and a -X of the user's still wins.
func TestBuildFlagsOwn(t *testing.T) {
	own := []string{"-X=p.a=1", "'-X=p.b=x y'"}
	got := buildFlags([]string{"-ldflags=-X=p.a=2"}, []string{"-ldflags=all=-s"}, own)
	want := []string{
		"-ldflags=-checklinkname=0 -X=p.a=1 '-X=p.b=x y'",
		"-ldflags=-checklinkname=0 -X=p.a=1 '-X=p.b=x y' -X=p.a=2",
		"-ldflags=all=-checklinkname=0 -X=p.a=1 '-X=p.b=x y' -s",
		"-tags=gofil_linkname",
	}
	if !slices.Equal(got, want) {
		t.Errorf("buildFlags = %q, want %q", got, want)
	}
}

// TestLdflagsField: a field is quoted so that the go command's split
// (splitGOFLAGS splits as it does) gives it back whole, or refused.
func TestLdflagsField(t *testing.T) {
	for _, s := range []string{"-X=p.v=plain", "-X=p.v=/a dir/x", "-X=p.v=it's here", `-X=p.v=say "hi" 'x'`} {
		q, err := ldflagsField(s)
		if strings.Contains(s, `"`) && strings.Contains(s, "'") {
			if err == nil {
				t.Errorf("ldflagsField(%q) = %q, want an error", s, q)
			}
			continue
		}
		got, serr := splitGOFLAGS(q)
		if err != nil || serr != nil || len(got) != 1 || got[0] != s {
			t.Errorf("ldflagsField(%q) = %q, %v: splits into %q, %v", s, q, err, got, serr)
		}
	}
	if q, err := ldflagsField("-X=p.v=a\nb c"); err == nil {
		t.Errorf("a newline: %q, want an error", q)
	}
}

// TestStandInFiles: the stand-in's files are the package's, each .go file
// after a line directive naming the original, with -trimpath as the go
// command names it; the main file carries the tracker.
func TestStandInFiles(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"main.go":        "\uFEFFpackage main\n\nfunc main() {}\n",
		"other_linux.go": "//go:build linux\n\npackage main\n",
		"asm_amd64.s":    "// nothing\n",
		"static/a.txt":   "a",
		"default.pgo":    "",
	})
	pkg := &listed{
		Dir: src, ImportPath: "example.com/m/cmd/x", Name: "main",
		GoFiles: []string{"main.go"}, IgnoredGoFiles: []string{"other_linux.go", "x_test.go"},
		SFiles: []string{"asm_amd64.s"}, EmbedFiles: []string{"static/a.txt"},
	}
	pkg.Module = &listedModule{Path: "example.com/m", Version: "v1.2.3", GoVersion: "1.13"}
	mainFile, withAgent, err := addMainDone(pkg)
	if err != nil || mainFile != filepath.Join(src, "main.go") {
		t.Fatalf("addMainDone: %q, %v", mainFile, err)
	}
	for _, trimpath := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "pkg")
		mod, err := writeStandIn(dir, pkg, mainFile, withAgent, trimpath)
		if err != nil {
			t.Fatal(err)
		}
		if mod.Path != "example.com/m/cmd/x/gofil_main" || mod.Dir != dir {
			t.Errorf("module %+v", mod)
		}
		read := func(name string) string {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				t.Error(err)
			}
			return string(data)
		}
		if got := read("go.mod"); got != "module example.com/m/cmd/x/gofil_main\n\ngo 1.13\n" {
			t.Errorf("go.mod:\n%s", got)
		}
		name := filepath.Join(src, "main.go")
		if trimpath {
			name = "example.com/m@v1.2.3/cmd/x/main.go"
		}
		main := read("main.go")
		if !strings.HasPrefix(main, "//line "+name+":1:1\npackage main; import gofiltracker ") || !strings.Contains(main, "MainDone()") {
			t.Errorf("main.go (trimpath %v):\n%s", trimpath, main)
		}
		if got := read("other_linux.go"); !strings.HasPrefix(got, "//line ") || !strings.HasSuffix(got, "\n//go:build linux\n\npackage main\n") {
			t.Errorf("other_linux.go:\n%s", got)
		}
		for _, name := range []string{"asm_amd64.s", "static/a.txt", "default.pgo"} {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				t.Errorf("%s not copied: %v", name, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "x_test.go")); err == nil {
			t.Errorf("a test file was copied")
		}
	}
}

// snapshot returns every file under root with its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// skipShort skips a test that builds a program with the go command under
// -short (make test-unit); make test runs it.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a program with the go command; run without -short")
	}
}
