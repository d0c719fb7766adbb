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
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

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
	// Binaries, when set, is the directory where the program is built
	// and kept for its next build, which the go command neither compiles
	// nor links while nothing it is built from has changed (bincache.go);
	// Output is then a hard link to it. Empty: the program is built
	// afresh into Output.
	Binaries string

	// Ldflags, when set, gives linker flags of gofil's own, such as
	// -X=PKG.NAME=VALUE, from the import paths of the packages the
	// program links (as Build returns them): they are added to every
	// -ldflags value of the build before the user's, so that whichever
	// value the main package takes has them. Not with Binaries: a kept
	// binary is not keyed by them.
	Ldflags func(packages []string) []string
	// GODEBUG, when set, is added to the program's default GODEBUG (the
	// linker's runtime.godebugDefault, which the go command otherwise
	// makes of the package's DefaultGODEBUG): the runtime applies it at
	// start-up, before the environment's GODEBUG, as it does
	// memprofilerate there.
	GODEBUG string

	// agent is the agent's source; nil is gofil.AgentSource.
	agent fs.FS
}

// Error is a build failure; Output holds what the go command printed.
type Error struct {
	Msg    string
	Output string
}

func (e *Error) Error() string { return e.Msg }

// listed is what `go list` says of the target package.
type listed struct {
	Dir            string
	ImportPath     string
	Name           string
	Standard       bool
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
	CFiles         []string
	CXXFiles       []string
	MFiles         []string
	HFiles         []string
	FFiles         []string
	SFiles         []string
	SwigFiles      []string
	SwigCXXFiles   []string
	SysoFiles      []string
	EmbedFiles     []string
	DefaultGODEBUG string
	Module         *listedModule
	Error          *struct{ Err string }
	// Deps are the import paths of every package the program links,
	// without the agent.
	Deps []string
}

// listedModule is what `go list` says of a package's module.
type listedModule struct {
	Path      string
	Version   string
	Main      bool
	GoMod     string
	GoVersion string
	Dir       string
}

// listFields are the fields of listed, for go list -json.
const listFields = "Dir,ImportPath,Name,Standard,GoFiles,CgoFiles,IgnoredGoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles," +
	"SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles,DefaultGODEBUG,Module,Error,Deps"

// Build compiles t with the tracker injected into opts.Output and returns
// the import paths of the packages the program links without the agent,
// "main" included: memory that packages outside them allocate is the
// agent's.
func Build(ctx context.Context, t Target, opts Options) ([]string, error) {
	pkg, err := build(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	return append([]string{"main"}, pkg.Deps...), nil
}

// goEnv is what `go env` says of the settings a build depends on.
type goEnv struct {
	GOFLAGS, GOWORK, GOMOD, GOVERSION, GOOS, GOARCH string
}

func readGoEnv(ctx context.Context, dir string, env []string) (goEnv, error) {
	out, err := goCommand(ctx, dir, env, "env", "-json", "GOFLAGS", "GOWORK", "GOMOD", "GOVERSION", "GOOS", "GOARCH")
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

// The build takes one of three ways, by where package main is:
//
//   - in a main module (or .go files): the overlay adds the tracker to the
//     file of func main, and the agent to the main module's go.mod, or to a
//     copy of go.work;
//   - in another module, the module cache above all: the overlay cannot
//     touch it, and a stand-in is built (standin.go); so too when the file
//     of func main is a cgo file the overlay cannot give (overlayBreaksCgo);
//   - pkg@version: as `go run` does, in a main module of its own
//     (versioned.go), with a stand-in.
func build(ctx context.Context, t Target, opts Options) (*listed, error) {
	dir, env := t.Dir, os.Environ()
	// The go command reads GOFLAGS itself; the flags on its command line
	// are the user's, the same for go list as for go build, so that both
	// see the same files (-tags) and packages (-race).
	flags := append([]string{}, opts.Flags...)
	pkgArgs := []string{t.Package}
	if len(t.Files) > 0 {
		pkgArgs = t.Files
	}
	path, version, versioned := splitVersion(t.Package)
	versioned = versioned && len(t.Files) == 0
	// Unless the package is built at a version, in a main module of the
	// build's own, go list needs nothing go env says: the two run at once.
	var listing func() (*listed, error)
	if !versioned {
		listing = startList(ctx, dir, env, flags, pkgArgs)
		defer listing() // the go command ends before the build returns
	}
	genv, err := readGoEnv(ctx, dir, env)
	if err != nil {
		return nil, err
	}
	// The build's private files: in the kept binary's entry, at the same
	// paths each time, or in a directory of the build's own.
	var work string
	output := opts.Output
	var kept *entry
	if opts.Binaries != "" {
		if opts.Ldflags != nil || opts.GODEBUG != "" {
			return nil, errors.New("build: a kept binary is not keyed by Ldflags and GODEBUG")
		}
		key, err := entryKey(t, genv, opts.Flags)
		if err != nil {
			return nil, fmt.Errorf("binary cache: %w", err)
		}
		if kept, err = openEntry(opts.Binaries, key); err != nil {
			return nil, err
		}
		defer kept.close()
		if work, err = kept.prepare(); err != nil {
			return nil, err
		}
		output = kept.path(binaryName)
	} else {
		privtmp.Sweep(opts.CacheDir, buildPrefix)
		tmp, err := privtmp.MakeTemp(opts.CacheDir, buildPrefix)
		if err != nil {
			return nil, fmt.Errorf("build directory: %w", err)
		}
		defer tmp.Remove()
		work = tmp.Dir
	}
	goflags, err := splitGOFLAGS(genv.GOFLAGS)
	if err != nil {
		return nil, &Error{Msg: "cannot read GOFLAGS", Output: err.Error()}
	}
	var pkg *listed
	if versioned {
		dir = filepath.Join(work, "main")
		env = append(env, "GOWORK=off")
		if err := versionedModule(ctx, dir, env, goVersionLine(genv.GOVERSION), path, version, tagFlags(flags)); err != nil {
			return nil, err
		}
		genv.GOWORK, genv.GOMOD = "", filepath.Join(dir, "go.mod")
		flags = append(flags, "-mod=mod")
		pkgArgs = []string{path}
		pkg, err = list(ctx, dir, env, flags, pkgArgs)
	} else {
		pkg, err = listing()
	}
	if err != nil {
		return nil, err
	}
	if pkg.Name != "main" {
		return nil, fmt.Errorf("%s is package %s, not a main package: gofil runs programs", displayName(t, pkg), pkg.Name)
	}
	if pkg.Standard {
		// Its files are in GOROOT, whose commands import cmd/internal
		// packages that no module of gofil's could.
		return nil, &Error{Msg: fmt.Sprintf("%s is a command of the Go distribution: gofil cannot add its tracker to it", displayName(t, pkg))}
	}
	// outside: package main is not in a main module, or the overlay
	// cannot give its file of func main, and is built from a stand-in.
	outside := pkg.Module != nil && !pkg.Module.Main
	mainFile, withAgent, err := addMainDone(pkg)
	if err != nil {
		return nil, err
	}
	if !outside && withAgent != nil && overlayBreaksCgo(pkg, mainFile) {
		if pkg.Module == nil || len(t.Files) > 0 {
			return nil, &Error{Msg: fmt.Sprintf("%s: gofil cannot add its tracker to a cgo file whose path holds a semicolon (%s) unless it runs the file's package in a module; move the program to a path without one", displayName(t, pkg), mainFile)}
		}
		outside = true
	}

	// The main module's go.mod, which the overlay replaces by a copy with
	// the modules gofil adds: the package's module's, that of the
	// directory the go command runs in, or, for .go files outside any
	// module, one gofil makes up in their directory.
	goMod := ""
	var modData []byte
	switch {
	case genv.GOWORK != "":
	case outside:
		goMod = genv.GOMOD
	case pkg.Module != nil && pkg.Module.GoMod != "":
		goMod = pkg.Module.GoMod
	default:
		goMod = filepath.Join(pkg.Dir, "go.mod")
		modData = []byte("module gofil.run/main\n\ngo " + goVersionLine(genv.GOVERSION) + "\n")
	}
	if goMod != "" && modData == nil {
		if goMod == os.DevNull || !filepath.IsAbs(goMod) {
			return nil, &Error{Msg: fmt.Sprintf("%s is outside the main module, and there is none here", displayName(t, pkg))}
		}
		modData, err = os.ReadFile(goMod)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", goMod, err)
		}
	}
	// The agent is a module of its own, beside the program's modules, gofil's
	// own among them when the program uses gofil's packages or is in its
	// module (agent.go).
	agentSource := opts.agent
	if agentSource == nil {
		agentSource = gofil.AgentSource
	}
	agentDir, agentLock, err := writeAgent(opts.CacheDir, agentSource)
	if err != nil {
		return nil, err
	}
	defer agentLock.Unlock()
	add := []localModule{{Path: gofil.AgentModule, Dir: agentDir}}

	overlay := map[string]string{}
	buildArgs := pkgArgs
	// GOFLAGS first, as the go command reads them.
	trimpath := boolFlag(append(append([]string{}, goflags...), flags...), "-trimpath")
	if outside {
		standIn, err := writeStandIn(filepath.Join(work, "pkg"), pkg, mainFile, withAgent, trimpath)
		if err != nil {
			return nil, err
		}
		add = append(add, standIn)
		buildArgs = []string{standIn.Path}
	} else if withAgent != nil {
		if strings.Contains(mainFile+work, ";") && !strings.ContainsAny(mainFile, "\r\n") {
			// The go command names an overlaid file through the
			// compiler's -trimpath, a list of rewrites it joins with
			// semicolons (cmd/go/internal/work.(*Action).trimpath),
			// each from the overlay's file to the user's: a semicolon
			// in either path cuts the rewrite, and the name is the
			// user's cut short or the overlay's. A line directive
			// names the file in full, as the stand-in's do, and no
			// rewrite applies to it.
			withAgent = withLineDirective(pkg.originalName(filepath.Base(mainFile), trimpath), withAgent)
		}
		if err := writeOverlayFile(work, "main.go", withAgent, overlay, mainFile); err != nil {
			return nil, err
		}
	}

	if genv.GOWORK != "" {
		if env, err = addToWorkspace(work, genv, add, env); err != nil {
			return nil, err
		}
	} else if len(add) > 0 {
		mod, err := addModules(goMod, modData, add)
		if err != nil {
			return nil, err
		}
		if err := writeOverlayFile(work, "go.mod", mod, overlay, goMod); err != nil {
			return nil, err
		}
	}
	overlayJSON, err := json.Marshal(struct{ Replace map[string]string }{overlay})
	if err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	overlayPath := filepath.Join(work, "overlay.json")
	if err := os.WriteFile(overlayPath, overlayJSON, 0o600); err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}

	own, err := ownLdflags(opts, pkg)
	if err != nil {
		return nil, err
	}
	args := []string{"build", "-overlay", overlayPath, "-o", output}
	args = append(args, buildFlags(goflags, flags, own)...)
	if goMod != "" && !versioned && !hasFlag(flags, "-mod") {
		if _, err := os.Stat(filepath.Join(filepath.Dir(goMod), "vendor", "modules.txt")); err == nil {
			// The agent is not in vendor/modules.txt.
			args = append(args, "-mod=mod")
		}
	}
	args = append(args, buildArgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	privtmp.KillGroupOnCancel(cmd)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return nil, &Error{Msg: fmt.Sprintf("%s does not build", displayName(t, pkg)), Output: cleanOutput(out.String(), work)}
	}
	if withAgent == nil {
		// The compiler found the func main gofil did not.
		os.Remove(output)
		return nil, &Error{Msg: fmt.Sprintf("%s: gofil found no func main to add its tracker to", displayName(t, pkg))}
	}
	if kept != nil {
		if err := kept.seal(); err != nil {
			return nil, err
		}
		if err := kept.linkTo(opts.Output); err != nil {
			return nil, fmt.Errorf("binary cache: %w", err)
		}
		kept.close()
		evict(opts.Binaries, keepBinaries, keepBytes)
	}
	return pkg, nil
}

// ownLdflags is what opts.Ldflags gives and the default GODEBUG with
// opts.GODEBUG, each quoted as one field of a -ldflags value.
func ownLdflags(opts Options, pkg *listed) ([]string, error) {
	var flags []string
	if opts.Ldflags != nil {
		flags = opts.Ldflags(append([]string{"main"}, pkg.Deps...))
	}
	if opts.GODEBUG != "" {
		g := opts.GODEBUG
		if pkg.DefaultGODEBUG != "" {
			g = pkg.DefaultGODEBUG + "," + g
		}
		flags = append(flags, "-X=runtime.godebugDefault="+g)
	}
	for i, f := range flags {
		q, err := ldflagsField(f)
		if err != nil {
			return nil, err
		}
		flags[i] = q
	}
	return flags, nil
}

func displayName(t Target, pkg *listed) string {
	if len(t.Files) > 0 {
		return strings.Join(t.Files, " ")
	}
	if _, _, ok := splitVersion(t.Package); ok {
		return t.Package
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

// startList runs list in the background and returns a function that
// waits for it and returns what it returned, as often as it is called.
func startList(ctx context.Context, dir string, env, flags, pkgArgs []string) func() (*listed, error) {
	type result struct {
		pkg *listed
		err error
	}
	c := make(chan result, 1)
	go func() {
		pkg, err := list(ctx, dir, env, flags, pkgArgs)
		c <- result{pkg, err}
	}()
	return sync.OnceValues(func() (*listed, error) {
		r := <-c
		return r.pkg, r.err
	})
}

func list(ctx context.Context, dir string, env, flags, pkgArgs []string) (*listed, error) {
	args := append([]string{"list", "-e", "-json=" + listFields}, flags...)
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

// overlayBreaksCgo reports whether the go command fails to build the
// package when mainFile, a cgo file whose path holds a semicolon, is given
// by -overlay. cgo names its output files by the input's name after the
// -trimpath rewrites, a list the go command joins with semicolons
// (cmd/go/internal/work.(*Action).trimpath), so the name is cut at the
// first semicolon in its path; the go command then looks for the output
// under the file's own name, and the C compiler finds no such file
// ("main.cgo2.c: No such file or directory"). The package is built from a
// stand-in instead, a copy in the build's private directory.
func overlayBreaksCgo(pkg *listed, mainFile string) bool {
	if !strings.Contains(mainFile, ";") {
		return false
	}
	for _, name := range pkg.CgoFiles {
		if filepath.Join(pkg.Dir, name) == mainFile {
			return true
		}
	}
	return false
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
