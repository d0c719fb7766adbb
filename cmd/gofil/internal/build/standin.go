package build

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofil/gofil/internal/raw"
)

// A main package outside the main module, one in the module cache above
// all (`gofil run golang.org/x/tools/cmd/stringer` in a module that
// requires x/tools, or any pkg@version), cannot be given the tracker
// through the overlay: the go command refuses an overlay of any file
// beneath GOMODCACHE. gofil builds a stand-in instead: a copy of the main
// package's files, the tracker added to the file of func main, as a module
// of its own in the build's private directory, which the main module
// requires and replaces by that directory. Only package main is copied.
//
//   - Its import path is the package's own with one element added
//     (golang.org/x/tools/cmd/stringer/gofil_main). In module mode the go
//     command lets a package import an internal package by import path,
//     so the copy still imports golang.org/x/tools/internal/...; and no
//     module provides that path but the stand-in's, where the package's
//     own path would be provided twice (an ambiguous import).
//   - Every other package, the rest of the package's module included, is
//     built from where it is, as `go build` would: same files, same
//     positions, same build cache entries.
//   - Its go line is the module's, so the copy is compiled at the language
//     version its module says (esbuild's go 1.13); the main module stays
//     the user's, which selects every version and sets the GODEBUG
//     defaults, as without gofil.
//   - Each copied .go file begins with a //line directive naming the
//     original file, line 1 column 1: panics, runtime.Caller, compiler
//     messages and the report show the program's own positions.
//
// What differs: the binary's build information (runtime/debug) names the
// stand-in as the main package's path and module, at v0.0.0 replaced by a
// directory, where `go build` would name the package and its module's
// version: a program that prints its version from its build information
// prints that. Assembly, C and other non-Go files of package main keep the
// copy's path in their debug information.

// standInElem is the element added to the package's import path.
const standInElem = raw.StandInElem

// writeStandIn writes the stand-in for pkg into dir: its files, those of
// mainFile replaced by withAgent (nil: as they are), and a go.mod. trimpath
// says that the build trims paths (-trimpath): the //line directives then
// name the files as the go command writes them then, module@version/path.
func writeStandIn(dir string, pkg *listed, mainFile string, withAgent []byte, trimpath bool) (localModule, error) {
	elem := standInElem
	for i := 2; ; i++ {
		// The package's module must not provide the stand-in's path too.
		if _, err := os.Lstat(filepath.Join(pkg.Dir, elem)); err != nil {
			break
		}
		elem = standInElem + strconv.Itoa(i)
	}
	mod := localModule{Path: pkg.ImportPath + "/" + elem, Dir: dir}
	goMod := "module " + mod.Path + "\n"
	if pkg.Module != nil && pkg.Module.GoVersion != "" {
		// Without a go line the module is taken for go 1.16, as the
		// package's own is.
		goMod += "\ngo " + pkg.Module.GoVersion + "\n"
	}
	files := []string{"go.mod"}
	contents := map[string][]byte{"go.mod": []byte(goMod)}
	for _, name := range pkg.goSources() {
		src, err := os.ReadFile(filepath.Join(pkg.Dir, name))
		if err != nil {
			return localModule{}, fmt.Errorf("read %s: %w", filepath.Join(pkg.Dir, name), err)
		}
		if filepath.Join(pkg.Dir, name) == mainFile && withAgent != nil {
			src = withAgent
		}
		files = append(files, name)
		contents[name] = withLineDirective(pkg.originalName(name, trimpath), src)
	}
	for _, name := range pkg.otherFiles() {
		src, err := os.ReadFile(filepath.Join(pkg.Dir, filepath.FromSlash(name)))
		if err != nil {
			return localModule{}, fmt.Errorf("read %s: %w", filepath.Join(pkg.Dir, name), err)
		}
		files = append(files, name)
		contents[name] = src
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return localModule{}, fmt.Errorf("build directory: %w", err)
	}
	if err := writeFiles(dir, files, contents); err != nil {
		return localModule{}, fmt.Errorf("build directory: %w", err)
	}
	return mod, nil
}

// withLineDirective returns src after a line directive that gives its
// first line the position name:1:1. A byte order mark, allowed only at the
// start of a file, is dropped.
func withLineDirective(name string, src []byte) []byte {
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	out := make([]byte, 0, len(src)+len(name)+16)
	out = append(out, "//line "...)
	out = append(out, name...)
	out = append(out, ":1:1\n"...)
	return append(out, src...)
}

// goSources are the package's .go files that the go command considers,
// tests aside: those the build takes and those its constraints leave out,
// which the build decides again on the copy.
func (p *listed) goSources() []string {
	var out []string
	for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.IgnoredGoFiles} {
		for _, name := range list {
			if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") && !strings.ContainsAny(name, `/\`) {
				out = append(out, name)
			}
		}
	}
	return out
}

// otherFiles are the package's other files the build reads: C, assembly,
// objects, embedded files (slash-separated paths below the package), and
// default.pgo, the profile a main package is built with by default.
func (p *listed) otherFiles() []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]string{p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles, p.SFiles, p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.EmbedFiles} {
		for _, name := range list {
			name = filepath.ToSlash(name)
			if !seen[name] && name != "go.mod" && !strings.HasPrefix(name, "../") && !path.IsAbs(name) {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(p.Dir, "default.pgo")); err == nil && st.Mode().IsRegular() && !seen["default.pgo"] {
		out = append(out, "default.pgo")
	}
	return out
}

// originalName is the name the compiler gives the package's file name when
// the package is built from where it is: its path, or with -trimpath what
// cmd/go rewrites that path to (cmd/go/internal/work.(*Action).trimpath).
func (p *listed) originalName(name string, trimpath bool) string {
	if !trimpath {
		return filepath.Join(p.Dir, name)
	}
	if m := p.Module; m != nil && m.Version != "" {
		return m.Path + "@" + m.Version + strings.TrimPrefix(p.ImportPath, m.Path) + "/" + name
	}
	return p.ImportPath + "/" + name
}
