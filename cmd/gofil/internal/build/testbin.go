package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/privtmp"
)

// TestPackage is a package whose tests `gofil test` runs, as go list -test
// says of it.
type TestPackage struct {
	ImportPath string
	Dir        string
	// Files are its test files, internal and external, by their paths.
	Files []string
	// Deps are the import paths of every package its test binary links
	// without the agent, "main" (the generated test main) included.
	Deps []string
	// inMain: the package is in a main module, whose files an overlay
	// can add to.
	inMain bool
}

// testListFields are the fields of go list -test -json that ListTests
// reads.
const testListFields = "ImportPath,Dir,Name,TestGoFiles,XTestGoFiles,ForTest,Module,Error,Deps,Standard"

type testListed struct {
	ImportPath   string
	Dir          string
	Name         string
	TestGoFiles  []string
	XTestGoFiles []string
	ForTest      string
	Standard     bool
	Module       *listedModule
	Error        *struct{ Err string }
	Deps         []string
}

// ListTests lists the packages patterns name, run from dir with the user's
// go build flags, that have test files, in the order go list gives them.
// A pattern that names no package, or a package that cannot be loaded, is
// an error.
func ListTests(ctx context.Context, dir string, flags, patterns []string) ([]TestPackage, error) {
	args := append([]string{"list", "-e", "-test", "-json=" + testListFields}, tagFlags(flags)...)
	args = append(args, patterns...)
	out, err := goCommand(ctx, dir, os.Environ(), args...)
	if err != nil {
		return nil, &Error{Msg: "cannot load the packages", Output: err.Error()}
	}
	var all []testListed
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p testListed
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		all = append(all, p)
	}
	return testPackages(all, strings.Join(patterns, " "))
}

// testPackages picks from go list -test's output the packages named (not
// their test variants) that have test files, with the deps of their test
// main ("P.test").
func testPackages(all []testListed, patterns string) ([]TestPackage, error) {
	mains := map[string][]string{}
	for _, p := range all {
		if p.Name == "main" && strings.HasSuffix(p.ImportPath, ".test") && p.ForTest == "" {
			mains[strings.TrimSuffix(p.ImportPath, ".test")] = p.Deps
		}
	}
	var pkgs []TestPackage
	named := 0
	for _, p := range all {
		if p.ForTest != "" || strings.HasSuffix(p.ImportPath, ".test") || strings.Contains(p.ImportPath, " [") {
			continue
		}
		named++
		if p.Error != nil && len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			return nil, &Error{Msg: fmt.Sprintf("cannot load %s", p.ImportPath), Output: p.Error.Err}
		}
		if len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			continue
		}
		tp := TestPackage{ImportPath: p.ImportPath, Dir: p.Dir, inMain: p.Module != nil && p.Module.Main}
		for _, f := range append(append([]string{}, p.TestGoFiles...), p.XTestGoFiles...) {
			tp.Files = append(tp.Files, filepath.Join(p.Dir, f))
		}
		tp.Deps = append([]string{"main"}, plainPaths(mains[p.ImportPath])...)
		pkgs = append(pkgs, tp)
	}
	if named == 0 {
		return nil, fmt.Errorf("%s matches no packages", patterns)
	}
	return pkgs, nil
}

// plainPaths are import paths without the test variant's " [P.test]",
// once each: the names the binary's symbols have.
func plainPaths(deps []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range deps {
		d, _, _ = strings.Cut(d, " ")
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// ErrNoTests is BuildTest's error for a package whose test files declare
// no test, benchmark, fuzz test, example or TestMain.
var ErrNoTests = errors.New("no tests")

// BuildTest compiles the tests of pkg, as `go test -c` does, with the
// tracker injected into opts.Output. The overlay adds the tracker's import
// to the package clause's line of a test file that declares a test (or
// TestMain, an example, a benchmark, a fuzz test): the test main imports
// that file's package whatever else the tests import, and the tracker
// starts in the test binary's initialisation, as in a program's. Positions
// in the file are unchanged. The go.mod (or go.work) is given the agent's
// module as a program's is. Only packages of a main module can be built so:
// an overlay cannot add to the module cache.
func BuildTest(ctx context.Context, dir string, pkg TestPackage, opts Options) error {
	if !pkg.inMain {
		return &Error{Msg: fmt.Sprintf("%s is not in the main module: gofil test runs the tests of the module it is run in", pkg.ImportPath)}
	}
	file, withAgent, err := addTrackerImport(pkg.Files)
	if err != nil {
		return err
	}
	if withAgent == nil {
		return ErrNoTests
	}
	env := os.Environ()
	genv, err := readGoEnv(ctx, dir, env)
	if err != nil {
		return err
	}
	goflags, err := splitGOFLAGS(genv.GOFLAGS)
	if err != nil {
		return &Error{Msg: "cannot read GOFLAGS", Output: err.Error()}
	}
	privtmp.Sweep(opts.CacheDir, buildPrefix)
	tmp, err := privtmp.MakeTemp(opts.CacheDir, buildPrefix)
	if err != nil {
		return fmt.Errorf("build directory: %w", err)
	}
	defer tmp.Remove()
	work := tmp.Dir
	agentDir, agentLock, err := writeAgent(opts.CacheDir, gofil.AgentSource)
	if err != nil {
		return err
	}
	defer agentLock.Unlock()
	add := []localModule{{Path: gofil.AgentModule, Dir: agentDir}}
	overlay := map[string]string{}
	if err := writeOverlayFile(work, "test.go", withAgent, overlay, file); err != nil {
		return err
	}
	env, err = overlayModules(work, genv, add, overlay, env)
	if err != nil {
		return err
	}
	overlayPath := filepath.Join(work, "overlay.json")
	data, err := json.Marshal(struct{ Replace map[string]string }{overlay})
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	if err := os.WriteFile(overlayPath, data, 0o600); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	args := []string{"test", "-c", "-overlay", overlayPath, "-o", opts.Output}
	args = append(args, buildFlags(goflags, opts.Flags, nil)...)
	if genv.GOWORK == "" && !hasFlag(opts.Flags, "-mod") {
		if _, err := os.Stat(filepath.Join(filepath.Dir(genv.GOMOD), "vendor", "modules.txt")); err == nil {
			args = append(args, "-mod=mod") // the agent is not in vendor/modules.txt
		}
	}
	args = append(args, pkg.ImportPath)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	privtmp.KillGroupOnCancel(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return &Error{Msg: fmt.Sprintf("the tests of %s do not build", pkg.ImportPath), Output: cleanOutput(out.String(), work)}
	}
	return nil
}

// overlayModules adds mods to the build: to a copy of go.work named in the
// environment it returns, or to go.mod through the overlay.
func overlayModules(work string, genv goEnv, mods []localModule, overlay map[string]string, env []string) ([]string, error) {
	if genv.GOWORK != "" {
		return addToWorkspace(work, genv, mods, env)
	}
	if genv.GOMOD == "" || genv.GOMOD == os.DevNull {
		return nil, &Error{Msg: "gofil test runs in a module: there is no go.mod here"}
	}
	data, err := os.ReadFile(genv.GOMOD)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", genv.GOMOD, err)
	}
	mod, err := addModules(genv.GOMOD, data, mods)
	if err != nil {
		return nil, err
	}
	return env, writeOverlayFile(work, "go.mod", mod, overlay, genv.GOMOD)
}

// addTrackerImport returns the first of files (test files) that parses and
// declares a test, and its content with the tracker's blank import added
// after the package clause; nil content when none does.
func addTrackerImport(files []string) (string, []byte, error) {
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return "", nil, fmt.Errorf("read %s: %w", path, err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil || !declaresTest(f) {
			continue
		}
		end := fset.Position(f.Name.End()).Offset
		imp := fmt.Sprintf("; import _ %q", gofil.AgentPackage)
		out := make([]byte, 0, len(src)+len(imp))
		out = append(out, src[:end]...)
		out = append(out, imp...)
		out = append(out, src[end:]...)
		return path, out, nil
	}
	return "", nil, nil
}

// declaresTest reports whether f declares a function the test main calls:
// TestMain, or a test, benchmark, fuzz test or example by go test's rule
// (the prefix, then the end of the name or a character not lower-case).
func declaresTest(f *ast.File) bool {
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil {
			continue
		}
		name := fn.Name.Name
		if name == "TestMain" {
			return true
		}
		for _, prefix := range []string{"Test", "Benchmark", "Fuzz", "Example"} {
			if isTestName(name, prefix) {
				return true
			}
		}
	}
	return false
}

func isTestName(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	if len(name) == len(prefix) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(name[len(prefix):])
	return !unicode.IsLower(r)
}

// addToWorkspace adds mods to a copy, in work, of the go.work genv names,
// and returns env with GOWORK naming the copy.
func addToWorkspace(work string, genv goEnv, mods []localModule, env []string) ([]string, error) {
	data, err := os.ReadFile(genv.GOWORK)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", genv.GOWORK, err)
	}
	workCopy, err := addModulesToWork(genv.GOWORK, data, mods)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(work, "go.work")
	if err := os.WriteFile(p, workCopy, 0o600); err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	return append(env, "GOWORK="+p), nil
}
