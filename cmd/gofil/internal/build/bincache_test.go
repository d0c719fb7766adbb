package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/privtmp"
)

// keptBuild builds target with binaries kept in the cache's "bin", and
// returns the binary the run gets.
func keptBuild(t *testing.T, target Target, cache string, agent fs.FS, flags ...string) string {
	t.Helper()
	skipShort(t)
	bin := filepath.Join(t.TempDir(), "prog")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := Build(ctx, target, Options{Output: bin, CacheDir: cache, Binaries: filepath.Join(cache, "bin"), Flags: flags, agent: agent})
	if err != nil {
		var be *Error
		if errors.As(err, &be) {
			t.Fatalf("%v\n%s", err, be.Output)
		}
		t.Fatal(err)
	}
	return bin
}

// inode is the file's inode number.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// says runs bin and fails unless it prints want.
func says(t *testing.T, bin, want string) {
	t.Helper()
	stdout, stderr, err := run(t, bin)
	if err != nil || stdout != want+"\n" {
		t.Fatalf("%s printed %q (%v)\n%s; want %s", bin, stdout, err, stderr, want)
	}
}

// withMark is the agent's source with an init function added to the
// tracker that prints mark.
func withMark(t *testing.T, mark string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(gofil.AgentSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := gofil.AgentSource.ReadFile(p)
		m[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m["tracker/zz_mark.go"] = &fstest.MapFile{Data: []byte("package tracker\n\nfunc init() { println(" + fmt.Sprintf("%q", mark) + ") }\n")}
	return m
}

// TestKeptBinary: a second build of an unchanged program neither compiles
// nor links: the run gets the very file the first build made (the go
// command's link writes a new one, by a rename or a copy after removing
// the old, and the first run's link to it keeps its inode in use). A
// change to a source file, to the build tags or to the agent's source
// gives a new binary that has the change. Everything kept is private to
// the user.
func TestKeptBinary(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":   "module example.com/kept\n\ngo 1.22\n",
		"main.go":  "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(word) }\n",
		"word.go":  "//go:build !other\n\npackage main\n\nconst word = \"one\"\n",
		"other.go": "//go:build other\n\npackage main\n\nconst word = \"other\"\n",
	})
	target := Target{Package: ".", Dir: dir}
	first := keptBuild(t, target, cache, nil)
	says(t, first, "one")
	second := keptBuild(t, target, cache, nil)
	says(t, second, "one")
	if a, b := inode(t, first), inode(t, second); a != b {
		t.Errorf("the second build of an unchanged program linked it again (inode %d, then %d)", a, b)
	}

	writeTree(t, dir, map[string]string{"word.go": "//go:build !other\n\npackage main\n\nconst word = \"two\"\n"})
	changed := keptBuild(t, target, cache, nil)
	says(t, changed, "two")
	if inode(t, changed) == inode(t, second) {
		t.Error("a changed source file gave the same binary")
	}
	says(t, second, "one") // the earlier run's file is its own

	tagged := keptBuild(t, target, cache, nil, "-tags=other")
	says(t, tagged, "other")
	again := keptBuild(t, target, cache, nil, "-tags=other")
	if inode(t, again) != inode(t, tagged) {
		t.Error("a second build with the same tags linked the program again")
	}

	marked := keptBuild(t, target, cache, withMark(t, "marked agent"))
	if _, stderr, _ := run(t, marked); !strings.Contains(stderr, "marked agent") {
		t.Errorf("a changed agent gave a binary without the change; stderr:\n%s", stderr)
	}
	if inode(t, marked) == inode(t, changed) {
		t.Error("a changed agent gave the same binary")
	}

	err := filepath.WalkDir(filepath.Join(cache, "bin"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		perm := st.Mode().Perm()
		switch {
		case d.IsDir() && perm != 0o700:
			t.Errorf("%s: directory mode %04o, want 0700", p, perm)
		case !d.IsDir() && perm&0o077 != 0:
			t.Errorf("%s: file mode %04o, want no access for others", p, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKeptBinaryCutShort: a binary the go command left part-written (a
// copy cut short by a kill, which keeps the build ID at its start) is
// never taken as up to date: it is built again, whether the seal was
// removed before the build or the binary changed after it.
func TestKeptBinaryCutShort(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":  "module example.com/cut\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"whole\") }\n",
	})
	target := Target{Package: ".", Dir: dir}
	keptBuild(t, target, cache, nil)
	entries, err := filepath.Glob(filepath.Join(cache, "bin", "*", binaryName))
	if err != nil || len(entries) != 1 {
		t.Fatalf("kept binaries: %v %v, want one", entries, err)
	}
	kept := entries[0]
	st, err := os.Stat(kept)
	if err != nil {
		t.Fatal(err)
	}
	for _, unseal := range []bool{false, true} {
		if err := os.Truncate(kept, 1<<16); err != nil {
			t.Fatal(err)
		}
		if unseal {
			if err := os.Remove(filepath.Join(filepath.Dir(kept), sealName)); err != nil {
				t.Fatal(err)
			}
		}
		bin := keptBuild(t, target, cache, nil)
		says(t, bin, "whole")
		if got, err := os.Stat(bin); err != nil || got.Size() != st.Size() {
			t.Fatalf("unsealed %v: the run got %v bytes (%v), want %d", unseal, got.Size(), err, st.Size())
		}
	}
}

// TestKeptBinaryConcurrent: builds of one program at once take turns, and
// each run gets a whole binary.
func TestKeptBinaryConcurrent(t *testing.T) {
	skipShort(t)
	dir, cache := t.TempDir(), t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":  "module example.com/both\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"both\") }\n",
	})
	target := Target{Package: ".", Dir: dir}
	bins := make([]string, 3)
	var wg sync.WaitGroup
	for i := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bins[i] = keptBuild(t, target, cache, nil)
		}()
	}
	wg.Wait()
	for _, bin := range bins {
		says(t, bin, "both")
	}
}

// TestEvict: eviction keeps the newest entries, by their last use, up to
// the count and the byte budget, the newest whatever its size, and never
// one another process holds.
func TestEvict(t *testing.T) {
	bins := t.TempDir()
	now := time.Now()
	// Entry i was last used i hours ago and holds i+1 MiB.
	for i := 0; i < 6; i++ {
		dir := filepath.Join(bins, fmt.Sprintf("e%d", i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, binaryName), make([]byte, (i+1)<<20), 0o700); err != nil {
			t.Fatal(err)
		}
		seal := filepath.Join(dir, sealName)
		if err := os.WriteFile(seal, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		used := now.Add(-time.Duration(i) * time.Hour)
		if err := os.Chtimes(seal, used, used); err != nil {
			t.Fatal(err)
		}
	}
	left := func() string {
		names, err := filepath.Glob(filepath.Join(bins, "e*"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range names {
			names[i] = filepath.Base(names[i])
		}
		return strings.Join(names, " ")
	}

	held, err := privtmp.Own(filepath.Join(bins, "e5"))
	if err != nil {
		t.Fatal(err)
	}
	evict(bins, 4, 1<<40)
	if got, want := left(), "e0 e1 e2 e3 e5"; got != want {
		t.Errorf("keep 4: left %s, want %s (e5 held)", got, want)
	}
	held.Unlock()
	evict(bins, 4, 3<<20) // e0 and e1 hold 3 MiB
	if got, want := left(), "e0 e1"; got != want {
		t.Errorf("budget 3 MiB: left %s, want %s", got, want)
	}
	evict(bins, 4, 1)
	if got, want := left(), "e0"; got != want {
		t.Errorf("budget 1 byte: left %s, want %s (the newest kept)", got, want)
	}
}

// TestKeptStandIn: a program built from a stand-in (PACKAGE@VERSION) is
// kept too: the stand-in is written at the same path on every build, so
// that its package's action ID, which holds its directory, is the same.
func TestKeptStandIn(t *testing.T) {
	useProxy(t)
	dir, cache := t.TempDir(), t.TempDir()
	target := Target{Package: "example.com/tool/cmd/tool@v1.0.0", Dir: dir}
	first := keptBuild(t, target, cache, nil)
	says(t, first, "3 3 3 2")
	second := keptBuild(t, target, cache, nil)
	says(t, second, "3 3 3 2")
	if a, b := inode(t, first), inode(t, second); a != b {
		t.Errorf("the second build of an unchanged stand-in linked it again (inode %d, then %d)", a, b)
	}
}
