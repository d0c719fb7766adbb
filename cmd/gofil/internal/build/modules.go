package build

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// localModule is a module gofil adds to the build from a directory of its
// own: the agent, or the stand-in for a main package outside the main
// module (standin.go).
type localModule struct {
	Path, Dir string
}

// addModules adds modules to a go.mod: for each, a requirement and a
// replacement by its directory. A module replaced by a directory needs no
// go.sum entry.
func addModules(path string, data []byte, mods []localModule) ([]byte, error) {
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	for _, m := range mods {
		if err := f.AddRequire(m.Path, "v0.0.0"); err != nil {
			return nil, fmt.Errorf("edit go.mod: %w", err)
		}
		if err := f.AddReplace(m.Path, "", m.Dir, ""); err != nil {
			return nil, fmt.Errorf("edit go.mod: %w", err)
		}
	}
	f.Cleanup()
	return f.Format()
}

// addModulesToWork copies a go.work with its directories made absolute
// (the copy lives elsewhere) and the modules' directories added to them.
// In a workspace a module joins as one more workspace module: a go.mod
// requirement would make the go command look for the other workspace
// modules' versions.
func addModulesToWork(path string, data []byte, mods []localModule) ([]byte, error) {
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
	for _, m := range mods {
		if err := f.AddUse(m.Dir, m.Path); err != nil {
			return nil, fmt.Errorf("edit go.work: %w", err)
		}
	}
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}
