package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gofil/gofil"
)

// agentGo is the go line of the agent's module, and so the language its
// packages are compiled at (a module's go line sets -lang for every file
// in it, whatever the main module says). The agent keeps to Go 1.19:
// TestAgentLanguage compiles it at that version.
//
// A line this low is accepted beside every main module the go command
// takes: one at go 1.21 or later must say at least the go version of each
// module it builds with, and 1.19 is below all of those; one before 1.21
// makes no such demand; a workspace's go.work, from go 1.18 on, takes
// modules at any version up to its own.
const agentGo = "1.19"

// writeAgent writes the agent's source as a module of its own,
// gofil.AgentModule, under cache and returns its directory.
func writeAgent(cache string) (string, error) {
	h := sha256.New()
	var files []string
	err := fs.WalkDir(gofil.AgentSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("agent source: %w", err)
	}
	sort.Strings(files)
	contents := make(map[string][]byte, len(files))
	for _, p := range files {
		data, err := gofil.AgentSource.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("agent source: %w", err)
		}
		if strings.HasSuffix(p, ".go") {
			if data, err = toAgentModule(p, data); err != nil {
				return "", fmt.Errorf("agent source: %w", err)
			}
		}
		contents[p] = data
		h.Write([]byte(p))
		h.Write(data)
	}
	mod := "module " + gofil.AgentModule + "\n\ngo " + agentGo + "\n"
	h.Write([]byte(mod))
	contents["go.mod"] = []byte(mod)
	files = append(files, "go.mod")
	dir := filepath.Join(cache, "agent-"+hex.EncodeToString(h.Sum(nil))[:16])
	if sameFiles(dir, files, contents) {
		return dir, nil
	}
	// Missing, partly written or changed since: made again, then put in
	// place of what was there.
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("agent cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, ".agent-")
	if err != nil {
		return "", fmt.Errorf("agent cache: %w", err)
	}
	if err := writeFiles(tmp, files, contents); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("agent cache: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if sameFiles(dir, files, contents) {
			return dir, nil // another gofil wrote it first
		}
		return "", fmt.Errorf("agent cache: %w", err)
	}
	return dir, nil
}

// writeFiles writes files, named by slash-separated paths under dir, each
// with its contents, private to the user.
func writeFiles(dir string, files []string, contents map[string][]byte) error {
	for _, p := range files {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(dst, contents[p], 0o600); err != nil {
			return err
		}
	}
	return nil
}

// sameFiles reports whether dir holds exactly files, each with its
// contents, as regular files: the agent's source is checked on every use,
// never trusted for its name.
func sameFiles(dir string, files []string, contents map[string][]byte) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		want, ok := contents[filepath.ToSlash(rel)]
		if !ok || !d.Type().IsRegular() {
			return errors.New("not the agent's")
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			return errors.New("not the agent's")
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}

// toAgentModule returns the Go file src with every string literal that
// names gofil's module or a package in it (the imports, and the module
// path the agent knows itself by) naming the same under the agent's module
// path instead. Nothing else changes, and every line stays where it was.
func toAgentModule(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	type edit struct {
		start, end int
		lit        string
	}
	var edits []edit
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil || strings.Contains(v, "\n") {
			return true
		}
		rest, ok := strings.CutPrefix(v, gofil.SourceModule)
		if !ok || rest != "" && !strings.HasPrefix(rest, "/") {
			return true
		}
		edits = append(edits, edit{fset.Position(lit.Pos()).Offset, fset.Position(lit.End()).Offset, strconv.Quote(gofil.AgentModule + rest)})
		return true
	})
	if len(edits) == 0 {
		return src, nil
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	out := make([]byte, 0, len(src)+len(edits)*(len(gofil.AgentModule)+2))
	last := 0
	for _, e := range edits {
		out = append(out, src[last:e.start]...)
		out = append(out, e.lit...)
		last = e.end
	}
	return append(out, src[last:]...), nil
}
