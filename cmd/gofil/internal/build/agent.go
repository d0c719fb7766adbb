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

	"golang.org/x/sys/unix"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/privtmp"
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

// agentTempPrefix begins the name of a directory in the cache that the
// agent's source is written into before it is put in place, and of one
// that held a damaged copy until it was replaced: privtmp.Sweep removes
// them once no process holds them.
const agentTempPrefix = ".agent-"

// writeAgent writes the agent's source, src (gofil.AgentSource), as a
// module of its own under cache and returns its directory, held shared until the caller unlocks it: a
// gofil that finds the directory damaged puts a fresh one in its place,
// and removes the damaged one only once no one holds it.
func writeAgent(cache string, src fs.FS) (string, *privtmp.Lock, error) {
	name, files, contents, err := agentFiles(src)
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(cache, name)

	privtmp.Sweep(cache, agentTempPrefix)
	for try := 0; ; try++ {
		lock, err := privtmp.Share(dir)
		if err == nil {
			if sameFiles(dir, files, contents) {
				return dir, lock, nil
			}
			lock.Unlock()
		} else if st, lerr := os.Lstat(dir); lerr == nil && st.IsDir() {
			return "", nil, fmt.Errorf("agent cache: %w", err)
		}
		if try == 3 {
			return "", nil, fmt.Errorf("agent cache: %s changed each time it was written", dir)
		}
		// Missing, partly written or changed since: made again, then put
		// in place of what was there, and held as any other copy.
		if err := replaceAgent(cache, dir, files, contents); err != nil {
			return "", nil, fmt.Errorf("agent cache: %w", err)
		}
	}
}

// agentFiles returns the name of the directory in the cache of the agent
// whose source is src, which its contents' hash makes, and the files it holds, sorted by their
// slash-separated paths, each with its contents.
func agentFiles(src fs.FS) (string, []string, map[string][]byte, error) {
	h := sha256.New()
	var files []string
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", nil, nil, fmt.Errorf("agent source: %w", err)
	}
	sort.Strings(files)
	contents := make(map[string][]byte, len(files))
	for _, p := range files {
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return "", nil, nil, fmt.Errorf("agent source: %w", err)
		}
		if strings.HasSuffix(p, ".go") {
			if data, err = toAgentModule(p, data); err != nil {
				return "", nil, nil, fmt.Errorf("agent source: %w", err)
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
	return "agent-" + hex.EncodeToString(h.Sum(nil))[:16], files, contents, nil
}

// replaceAgent writes files into a directory of its own in cache and puts
// it at dir. What was at dir is moved aside, to a name Sweep removes once
// no one holds it: another gofil may be building from it. Where the
// kernel can exchange two directories at once (RENAME_EXCHANGE), dir never
// stops holding a whole copy; elsewhere (NFS) it is missing between the
// two renames. Another gofil putting its own copy in place first is no
// error: the caller checks what is there.
func replaceAgent(cache, dir string, files []string, contents map[string][]byte) error {
	if st, err := os.Lstat(dir); err == nil && !st.IsDir() {
		// A link or a file, which no build reads as the agent.
		if err := os.Remove(dir); err != nil {
			return err
		}
	}
	tmp, err := privtmp.MakeTemp(cache, agentTempPrefix)
	if err != nil {
		return err
	}
	if err := writeFiles(tmp.Dir, files, contents); err != nil {
		tmp.Remove()
		return err
	}
	// The copy takes its lock file along to dir, where every gofil that
	// uses it holds it (privtmp.Share); this one lets it go once it is
	// there.
	var aside string
	err = unix.Renameat2(unix.AT_FDCWD, tmp.Dir, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		aside = tmp.Dir
	case errors.Is(err, unix.ENOENT):
		// Nothing at dir.
		err = os.Rename(tmp.Dir, dir)
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		aside = tmp.Dir + "-old"
		if err = os.Rename(dir, aside); errors.Is(err, fs.ErrNotExist) {
			aside = ""
			err = nil
		}
		if err == nil {
			err = os.Rename(tmp.Dir, dir)
		}
	}
	if err != nil {
		tmp.Remove()
		if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
			return nil // another gofil put its copy in place first
		}
		return err
	}
	tmp.Unlock()
	if aside != "" {
		privtmp.RemoveUnheld(aside)
	}
	return nil
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
// contents, as regular files, and at most a lock file besides: the agent's
// source is checked on every use, never trusted for its name.
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
		if rel == privtmp.LockName && d.Type().IsRegular() {
			return nil
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
