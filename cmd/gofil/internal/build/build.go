// Package build compiles a user's Go program with gofil's tracker injected,
// without modifying any of the user's files: everything gofil adds or
// changes reaches the compiler through `go build -overlay`.
package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	gobuild "go/build"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/privtmp"
)

// Target is what the user asked to run.
type Target struct {
	// Binary is set when the target is a prebuilt executable: it is run as
	// it is and only observed from outside.
	Binary string
	// Package is the package directory or pattern; Files the .go files when
	// the target is a list of files.
	Package string
	Files   []string
	// Dir is where the go command runs.
	Dir string
}

// Resolve classifies what the user named: a prebuilt binary, .go files, a
// package directory, or an import path.
func Resolve(args []string) (Target, error) {
	if len(args) == 0 {
		return Target{}, errors.New("nothing to run: give a package, .go files or a binary")
	}
	if strings.HasSuffix(args[0], ".go") {
		var t Target
		for _, a := range args {
			if !strings.HasSuffix(a, ".go") {
				return Target{}, fmt.Errorf("%s: mixing .go files and other arguments; put program arguments after --", a)
			}
			abs, err := filepath.Abs(a)
			if err != nil {
				return Target{}, err
			}
			if _, err := os.Stat(abs); err != nil {
				return Target{}, fmt.Errorf("%s: no such file", a)
			}
			if t.Dir == "" {
				t.Dir = filepath.Dir(abs)
			} else if filepath.Dir(abs) != t.Dir {
				return Target{}, fmt.Errorf("%s: all .go files must be in one directory", a)
			}
			t.Files = append(t.Files, filepath.Base(abs))
		}
		return t, nil
	}
	if len(args) > 1 {
		return Target{}, fmt.Errorf("%s: one package at a time; put program arguments after --", args[1])
	}
	arg := args[0]
	st, err := os.Stat(arg)
	switch {
	case err == nil && st.IsDir():
		abs, err := filepath.Abs(arg)
		if err != nil {
			return Target{}, err
		}
		if !inModule(abs) {
			return filesOf(arg, abs)
		}
		return Target{Package: ".", Dir: abs}, nil
	case err == nil && st.Mode().IsRegular():
		if st.Mode()&0o111 == 0 {
			return Target{}, fmt.Errorf("%s: not a Go package, .go file or executable", arg)
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return Target{}, err
		}
		return Target{Binary: abs}, nil
	case strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "/"):
		return Target{}, fmt.Errorf("%s: no such file or directory", arg)
	}
	wd, err := os.Getwd()
	if err != nil {
		return Target{}, err
	}
	return Target{Package: arg, Dir: wd}, nil
}

// Options controls a build.
type Options struct {
	// Output is the path of the binary to write.
	Output string
	// CacheDir holds the agent's source and overlay files; it is created.
	CacheDir string
	// Flags are extra `go build` flags from the user (-tags, -race, ...).
	Flags []string
	// Stderr receives the go command's output when the build fails.
	Stderr *bytes.Buffer
}

// Error is a build failure; Output holds what the go command printed.
type Error struct {
	Msg    string
	Output string
}

func (e *Error) Error() string { return e.Msg }

// listed is what `go list` says of the target package.
type listed struct {
	Dir        string
	ImportPath string
	Name       string
	GoFiles    []string
	CgoFiles   []string
	Module     *struct {
		Path      string
		GoMod     string
		GoVersion string
		Dir       string
	}
	Error *struct{ Err string }
	// Deps are the import paths of every package the program links,
	// without the agent.
	Deps []string
}

// Build compiles t with the tracker injected into opts.Output and returns
// the import paths of the packages the program links without the agent,
// "main" included: memory that packages outside them allocate is the
// agent's.
func Build(ctx context.Context, t Target, opts Options) ([]string, error) {
	var pkg *listed
	if err := build(ctx, t, opts, &pkg); err != nil {
		return nil, err
	}
	return append([]string{"main"}, pkg.Deps...), nil
}

// goEnv is what `go env` says of the settings a build depends on.
type goEnv struct {
	GOFLAGS, GOWORK, GOVERSION string
}

func readGoEnv(ctx context.Context, dir string, env []string) (goEnv, error) {
	out, err := goCommand(ctx, dir, env, "env", "-json", "GOFLAGS", "GOWORK", "GOVERSION")
	if err != nil {
		return goEnv{}, &Error{Msg: "go env failed", Output: err.Error()}
	}
	var e goEnv
	if err := json.Unmarshal(out, &e); err != nil {
		return goEnv{}, fmt.Errorf("go env: %w", err)
	}
	if e.GOWORK == "off" {
		e.GOWORK = ""
	}
	return e, nil
}

func build(ctx context.Context, t Target, opts Options, listedPkg **listed) error {
	pkgArgs := []string{t.Package}
	if len(t.Files) > 0 {
		pkgArgs = t.Files
	}
	genv, err := readGoEnv(ctx, t.Dir, os.Environ())
	if err != nil {
		return err
	}
	goflags, err := splitGOFLAGS(genv.GOFLAGS)
	if err != nil {
		return &Error{Msg: "cannot read GOFLAGS", Output: err.Error()}
	}
	// The go command reads GOFLAGS itself; the flags on its command line
	// are the user's, the same for go list as for go build, so that both
	// see the same files (-tags) and packages (-race).
	pkg, err := list(ctx, t.Dir, os.Environ(), opts.Flags, pkgArgs)
	if err != nil {
		return err
	}
	*listedPkg = pkg
	if pkg.Name != "main" {
		return fmt.Errorf("%s is package %s, not a main package: gofil runs programs", displayName(t, pkg), pkg.Name)
	}
	privtmp.Sweep(opts.CacheDir, buildPrefix)
	work, err := os.MkdirTemp(opts.CacheDir, privtmp.Pattern(buildPrefix))
	if err != nil {
		return fmt.Errorf("build directory: %w", err)
	}
	defer os.RemoveAll(work)

	overlay := map[string]string{}
	modRoot := pkg.Dir
	needAgent := true
	if pkg.Module != nil && pkg.Module.GoMod != "" {
		modRoot = filepath.Dir(pkg.Module.GoMod)
		needAgent = pkg.Module.Path != gofil.AgentModule
	}
	workFile := ""
	if needAgent {
		workFile = genv.GOWORK
	}
	var workData []byte
	if workFile != "" {
		workData, err = os.ReadFile(workFile)
		if err != nil {
			return fmt.Errorf("read %s: %w", workFile, err)
		}
	}
	buildEnv := os.Environ()
	if needAgent && workFile != "" {
		// In a workspace the agent joins as one more workspace module,
		// through a copy of go.work that gofil points GOWORK at: a go.mod
		// requirement would make the go command look for the other
		// workspace modules' versions.
		agentDir, err := writeAgent(opts.CacheDir)
		if err != nil {
			return err
		}
		workCopy, err := addAgentToWork(workFile, workData, agentDir)
		if err != nil {
			return err
		}
		p := filepath.Join(work, "go.work")
		if err := os.WriteFile(p, workCopy, 0o600); err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
		buildEnv = append(buildEnv, "GOWORK="+p)
	} else if needAgent {
		agentDir, err := writeAgent(opts.CacheDir)
		if err != nil {
			return err
		}
		goMod := filepath.Join(modRoot, "go.mod")
		var data []byte
		if pkg.Module != nil && pkg.Module.GoMod != "" {
			goMod = pkg.Module.GoMod
			data, err = os.ReadFile(goMod)
			if err != nil {
				return fmt.Errorf("read %s: %w", goMod, err)
			}
		} else {
			data = []byte("module gofil.run/main\n\ngo " + goVersionLine(genv.GOVERSION) + "\n")
		}
		mod, err := addAgent(goMod, data, agentDir)
		if err != nil {
			return err
		}
		if err := writeOverlayFile(work, "go.mod", mod, overlay, goMod); err != nil {
			return err
		}
	}

	mainFile, withAgent, err := addMainDone(pkg)
	if err != nil {
		return err
	}
	if withAgent != nil {
		if err := writeOverlayFile(work, "main.go", withAgent, overlay, mainFile); err != nil {
			return err
		}
	}
	overlayJSON, err := json.Marshal(struct{ Replace map[string]string }{overlay})
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	overlayPath := filepath.Join(work, "overlay.json")
	if err := os.WriteFile(overlayPath, overlayJSON, 0o600); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}

	args := []string{"build", "-overlay", overlayPath, "-o", opts.Output}
	args = append(args, buildFlags(goflags, opts.Flags)...)
	if _, err := os.Stat(filepath.Join(modRoot, "vendor", "modules.txt")); err == nil && !hasFlag(opts.Flags, "-mod") {
		// The agent is not in vendor/modules.txt.
		args = append(args, "-mod=mod")
	}
	args = append(args, pkgArgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = t.Dir
	cmd.Env = buildEnv
	privtmp.KillGroupOnCancel(cmd)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return &Error{Msg: fmt.Sprintf("%s does not build", displayName(t, pkg)), Output: cleanOutput(out.String(), work)}
	}
	if withAgent == nil {
		// The compiler found the func main gofil did not.
		os.Remove(opts.Output)
		return &Error{Msg: fmt.Sprintf("%s: gofil found no func main to add its tracker to", displayName(t, pkg))}
	}
	return nil
}

func displayName(t Target, pkg *listed) string {
	if len(t.Files) > 0 {
		return strings.Join(t.Files, " ")
	}
	if pkg != nil && pkg.ImportPath != "" && pkg.ImportPath != "." {
		return pkg.ImportPath
	}
	return t.Dir
}

// cleanOutput removes mentions of gofil's temporary files from compiler
// output, so that errors point at the user's own files only.
func cleanOutput(s, work string) string {
	return strings.ReplaceAll(s, work+string(filepath.Separator), "")
}

func list(ctx context.Context, dir string, env, flags, pkgArgs []string) (*listed, error) {
	args := append([]string{"list", "-e", "-json=Dir,ImportPath,Name,GoFiles,CgoFiles,Module,Error,Deps"}, flags...)
	args = append(args, pkgArgs...)
	out, err := goCommand(ctx, dir, env, args...)
	if err != nil {
		return nil, &Error{Msg: "cannot load the package", Output: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var pkgs []*listed
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		pkgs = append(pkgs, &p)
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("%s names %d packages; gofil runs one program", strings.Join(pkgArgs, " "), len(pkgs))
	}
	p := pkgs[0]
	if p.Error != nil && len(p.GoFiles)+len(p.CgoFiles) == 0 {
		return nil, &Error{Msg: "cannot load the package", Output: p.Error.Err}
	}
	return p, nil
}

// addMainDone returns the file that declares func main and its content
// with the agent added on lines that are already there: an import of the
// tracker after the package clause, and a deferred call of its MainDone
// after main's opening brace. Every position the program reports, in a
// panic's trace say, is unchanged, and no frame of gofil's comes between
// runtime.main and the program's main. What is added is Go 1.0, compiled
// at the language version of the package's module whatever that is.
//
// A file that does not parse is skipped; without func main, the result is
// empty and the package is built as it is, for the compiler to say what is
// wrong (a syntax error in main's file, most likely).
func addMainDone(pkg *listed) (string, []byte, error) {
	files := append(append([]string{}, pkg.GoFiles...), pkg.CgoFiles...)
	fset := token.NewFileSet()
	for _, name := range files {
		path := filepath.Join(pkg.Dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			return "", nil, fmt.Errorf("read %s: %w", path, err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != "main" || fn.Body == nil {
				continue
			}
			pkgEnd := fset.Position(f.Name.End()).Offset
			brace := fset.Position(fn.Body.Lbrace).Offset + 1
			imp := fmt.Sprintf("; import %s %q", gofil.AgentName, gofil.AgentPackage)
			call := " defer " + gofil.AgentName + ".MainDone();"
			out := make([]byte, 0, len(src)+len(imp)+len(call))
			out = append(out, src[:pkgEnd]...)
			out = append(out, imp...)
			out = append(out, src[pkgEnd:brace]...)
			out = append(out, call...)
			out = append(out, src[brace:]...)
			return path, out, nil
		}
	}
	return "", nil, nil
}

// addAgent adds the agent module to a go.mod: a requirement and a
// replacement by the local copy.
func addAgent(path string, data []byte, agentDir string) ([]byte, error) {
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if err := f.AddRequire(gofil.AgentModule, "v0.0.0"); err != nil {
		return nil, fmt.Errorf("edit go.mod: %w", err)
	}
	if err := f.AddReplace(gofil.AgentModule, "", agentDir, ""); err != nil {
		return nil, fmt.Errorf("edit go.mod: %w", err)
	}
	f.Cleanup()
	return f.Format()
}

// addAgentToWork copies a go.work with its directories made absolute (the
// copy lives elsewhere) and the agent's directory added to them.
func addAgentToWork(path string, data []byte, agentDir string) ([]byte, error) {
	f, err := modfile.ParseWork(path, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	base := filepath.Dir(path)
	for _, u := range f.Use {
		if !filepath.IsAbs(u.Path) {
			abs := filepath.Join(base, filepath.FromSlash(u.Path))
			if err := f.AddUse(abs, u.ModulePath); err != nil {
				return nil, fmt.Errorf("edit go.work: %w", err)
			}
			if err := f.DropUse(u.Path); err != nil {
				return nil, fmt.Errorf("edit go.work: %w", err)
			}
		}
	}
	for _, r := range f.Replace {
		if r.New.Version == "" && !filepath.IsAbs(r.New.Path) && (strings.HasPrefix(r.New.Path, "./") || strings.HasPrefix(r.New.Path, "../")) {
			abs := filepath.Join(base, filepath.FromSlash(r.New.Path))
			if err := f.AddReplace(r.Old.Path, r.Old.Version, abs, ""); err != nil {
				return nil, fmt.Errorf("edit go.work: %w", err)
			}
		}
	}
	if err := f.AddUse(agentDir, gofil.AgentModule); err != nil {
		return nil, fmt.Errorf("edit go.work: %w", err)
	}
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}

func writeOverlayFile(work, name string, data []byte, overlay map[string]string, target string) error {
	p := filepath.Join(work, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	overlay[target] = p
	return nil
}

// goCommand runs the go command in dir and returns its standard output; an
// error holds what it wrote on its standard error.
func goCommand(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	privtmp.KillGroupOnCancel(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return stdout.Bytes(), nil
}

// goVersionLine makes a go line's version of a GOVERSION ("go1.26.8",
// "go1.27rc1", "go1.26.8 X:jsonv2", "devel go1.27-..."): the version as it
// is when a go line takes it, else major.minor, else 1.21.
func goVersionLine(goversion string) string {
	v := strings.TrimPrefix(strings.TrimPrefix(goversion, "devel "), "go")
	if i := strings.IndexAny(v, " -"); i >= 0 {
		v = v[:i]
	}
	if modfile.GoVersionRE.MatchString(v) {
		return v
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return "1.21"
	}
	minor := parts[1]
	for i, c := range minor {
		if c < '0' || c > '9' {
			minor = minor[:i]
			break
		}
	}
	if minor == "" {
		return "1.21"
	}
	return parts[0] + "." + minor
}

// buildPrefix begins the name of a build's directory in the cache.
const buildPrefix = "build-"

// inModule reports whether dir or a directory above it has a go.mod.
func inModule(dir string) bool {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return true
		}
		up := filepath.Dir(dir)
		if up == dir {
			return false
		}
		dir = up
	}
}

// filesOf is the target for a directory outside any module, which the go
// command cannot build as a package: its .go files, less tests and those
// its build constraints exclude, as `go run *.go` would take them.
func filesOf(arg, dir string) (Target, error) {
	p, err := gobuild.Default.ImportDir(dir, 0)
	if err != nil {
		return Target{}, fmt.Errorf("%s: %v", arg, err)
	}
	files := append(append([]string{}, p.GoFiles...), p.CgoFiles...)
	if len(files) == 0 {
		return Target{}, fmt.Errorf("%s: no Go files to build", arg)
	}
	sort.Strings(files)
	return Target{Dir: dir, Files: files}, nil
}
