package build

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// splitVersion splits "path@version", as `go run` takes it, into the
// package path and the version query; ok is false without "@".
func splitVersion(pkg string) (path, version string, ok bool) {
	path, version, ok = strings.Cut(pkg, "@")
	return path, version, ok
}

// versionedModule makes, in dir, the main module `go run path@version`
// builds with: the go command then ignores any module around, and gives
// itself a main module with no go.mod, at the running Go version, that
// requires only the module providing the package, at the version the query
// names (cmd/go/internal/load.PackagesAndErrorsOutsideModule). gofil's is
// a real one, private to the build, that says the same. The module is
// found, and downloaded, by `go get` there; its go.mod may not hold
// replace or exclude directives, as for `go run`. env is the go command's
// environment, tags the user's -tags flags.
func versionedModule(ctx context.Context, dir string, env []string, goVersion, path, version string, tags []string) error {
	if version == "" {
		return &Error{Msg: path + "@: the version must not be empty"}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("build directory: %w", err)
	}
	start := "module " + versionedMain + "\n\ngo " + goVersion + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(start), 0o600); err != nil {
		return fmt.Errorf("build directory: %w", err)
	}
	args := append([]string{"get"}, tags...)
	args = append(args, path+"@"+version)
	if _, err := goCommand(ctx, dir, env, args...); err != nil {
		return &Error{Msg: fmt.Sprintf("cannot find %s@%s", path, version), Output: err.Error()}
	}
	out, err := goCommand(ctx, dir, env, append(append([]string{"list", "-mod=mod", "-e", "-json=Module"}, tags...), path)...)
	if err != nil {
		return &Error{Msg: "cannot load the package", Output: err.Error()}
	}
	var p struct {
		Module *struct{ Path, Version, GoMod string }
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return fmt.Errorf("go list: %w", err)
	}
	if p.Module == nil || p.Module.Version == "" {
		return &Error{Msg: fmt.Sprintf("%s@%s: no module provides the package", path, version)}
	}
	root := p.Module.Path + "@" + p.Module.Version
	data, err := os.ReadFile(p.Module.GoMod)
	if err != nil {
		return fmt.Errorf("read %s's go.mod: %w", root, err)
	}
	f, err := modfile.Parse(p.Module.GoMod, data, nil)
	if err != nil {
		return fmt.Errorf("%s@%s (in %s): %w", path, version, root, err)
	}
	for _, d := range []struct {
		name string
		n    int
	}{{"replace", len(f.Replace)}, {"exclude", len(f.Exclude)}} {
		if d.n > 0 {
			return &Error{Msg: fmt.Sprintf("%s@%s (in %s): its go.mod holds %s directives, which `go run` refuses for a module it builds by version: they would make the module mean something else than as the main module", path, version, root, d.name)}
		}
	}
	// `go get` also wrote the modules the package needs as requirements
	// of the main module, which go run's does not hold: made roots, their
	// own requirements would count in the selection. go.mod is written
	// again with the module's requirement alone; go.sum keeps what go get
	// checked, and the build's -mod=mod lets the go command add the rest.
	mod := start + "\nrequire " + p.Module.Path + " " + p.Module.Version + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o600); err != nil {
		return fmt.Errorf("build directory: %w", err)
	}
	return nil
}

// versionedMain is the path of the main module a pkg@version build has.
const versionedMain = "gofil.run/main"
