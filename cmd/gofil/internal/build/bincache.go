package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/privtmp"
)

// A program built with the tracker is kept for the next build of the same
// program, in an entry of its own under Options.Binaries, and the go
// command decides whether it is still up to date: `go build -o FILE`
// neither compiles nor links when FILE's build ID begins with the action
// ID of the link it would run (cmd/go/internal/work.(*Builder).useCache).
// That action ID hashes the content IDs of every package the binary
// links, the main package's full build ID, the linker, its flags and the
// target's configuration (linkActionID); each package's own ID hashes its
// files' contents, the overlay's included, its compiler flags and, without
// -trimpath, its directory. A change to a source file, a build tag, an
// -ldflags or the agent's source therefore gives a new link, and nothing
// else does.
//
// An entry holds the build's private files (work/, where the overlay, a
// workspace's copy and any stand-in are written, at the same paths on
// every build, so that the stand-in's directory is the same), the binary
// (binaryName) and a seal (sealName). Builds of one entry take turns:
// each holds the entry alone (privtmp.Own) from before it reads the seal
// until it has sealed the binary and linked it into the run's directory.
// The go command writes the binary by a rename where it can, but by a copy
// otherwise (its temporary directory on another file system), and a copy
// cut short leaves a file whose build ID, at its start, can still match:
// the seal, which names the binary's file and size and is written only
// once a build finished and the binary is on disk, is removed before the
// go command runs, and a binary without a matching seal is removed, never
// offered to the go command as up to date.
//
// The run gets a hard link to the binary, so that a later build replacing
// the entry's binary (the go command removes or renames over it, never
// writes into it) or evicting the entry leaves the running program's file
// as it was.

// Entry file names.
const (
	binaryName = "prog"
	sealName   = "sealed"
	workName   = "work"
)

// The bound on the binaries kept: the newest keepBinaries, fewer while
// those hold more than keepBytes, the newest always kept.
const (
	keepBinaries = 8
	keepBytes    = 1 << 30
)

// entryKey names the entry of a build: what the user asked to build and
// how. Two builds of one program with different tags or flags keep a
// binary each. A difference the key does not see (a changed file, the
// agent, the Go release, CGO_CFLAGS) is the go command's to see: the
// entry's binary is relinked.
func entryKey(t Target, genv goEnv, flags []string) (string, error) {
	data, err := json.Marshal(struct {
		Dir, Package          string
		Files, Flags          []string
		GOFLAGS, GOOS         string
		GOARCH, GOWORK, GOMOD string
	}{t.Dir, t.Package, t.Files, flags, genv.GOFLAGS, genv.GOOS, genv.GOARCH, genv.GOWORK, genv.GOMOD})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:24], nil
}

// An entry is a kept binary's directory, held by this process alone.
type entry struct {
	dir  string
	lock *privtmp.Lock
	// before is the binary found sealed, nil if none.
	before os.FileInfo
}

// openEntry makes or finds the entry named key in binaries, private to the
// user, and holds it alone, waiting for another build of it to finish.
func openEntry(binaries, key string) (*entry, error) {
	if err := privtmp.MakePrivate(binaries); err != nil {
		return nil, fmt.Errorf("binary cache: %w", err)
	}
	dir := filepath.Join(binaries, key)
	for try := 0; try < 10; try++ {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("binary cache: %w", err)
		}
		lock, err := privtmp.Own(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // evicted between the two
		}
		if err != nil {
			return nil, fmt.Errorf("binary cache: %w", err)
		}
		return &entry{dir: dir, lock: lock}, nil
	}
	return nil, fmt.Errorf("binary cache: %s was removed each time it was made", dir)
}

func (e *entry) path(name string) string { return filepath.Join(e.dir, name) }

// prepare readies the entry for the go command: its work directory empty,
// its binary kept only if sealed, and its seal removed until the build
// ends.
func (e *entry) prepare() (string, error) {
	work := e.path(workName)
	if err := os.RemoveAll(work); err != nil {
		return "", fmt.Errorf("binary cache: %w", err)
	}
	if err := os.Mkdir(work, 0o700); err != nil {
		return "", fmt.Errorf("binary cache: %w", err)
	}
	seal, serr := os.ReadFile(e.path(sealName))
	st, err := os.Lstat(e.path(binaryName))
	if serr == nil && err == nil && st.Mode().IsRegular() && string(seal) == sealOf(st) {
		e.before = st
	} else if err := os.Remove(e.path(binaryName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("binary cache: %w", err)
	}
	if err := os.Remove(e.path(sealName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("binary cache: %w", err)
	}
	return work, nil
}

// sealOf is the seal of a binary: its file and its size.
func sealOf(st os.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("gofil binary 1\ndev %d ino %d size %d\n", sys.Dev, sys.Ino, st.Size())
}

// seal marks the binary the go command has just built or found up to
// date as whole: a new one is first made private and written to disk.
// The seal's modification time is the entry's last use.
func (e *entry) seal() error {
	bin := e.path(binaryName)
	st, err := os.Lstat(bin)
	if err != nil {
		return fmt.Errorf("binary cache: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("binary cache: %s is not a regular file", bin)
	}
	if e.before == nil || !os.SameFile(e.before, st) || e.before.Size() != st.Size() {
		if err := os.Chmod(bin, 0o700); err != nil {
			return fmt.Errorf("binary cache: %w", err)
		}
		f, err := os.Open(bin)
		if err != nil {
			return fmt.Errorf("binary cache: %w", err)
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("binary cache: %w", err)
		}
	}
	tmp := e.path(sealName + ".tmp")
	if err := os.WriteFile(tmp, []byte(sealOf(st)), 0o600); err != nil {
		return fmt.Errorf("binary cache: %w", err)
	}
	if err := os.Rename(tmp, e.path(sealName)); err != nil {
		return fmt.Errorf("binary cache: %w", err)
	}
	return nil
}

// linkTo gives the sealed binary to the run at out: a hard link, or a
// copy where the file system makes none.
func (e *entry) linkTo(out string) error {
	bin := e.path(binaryName)
	if err := os.Link(bin, out); err == nil {
		return nil
	}
	src, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
	}
	return err
}

// close lets the entry go.
func (e *entry) close() { e.lock.Unlock() }

// evict removes the entries of binaries beyond the newest keep, and the
// oldest while the binaries kept hold more than budget bytes, the newest
// always kept. An entry's age is its seal's (its last use), or its
// directory's when it has none (a build that failed or is under way). An
// entry another process holds is left alone.
func evict(binaries string, keep int, budget int64) {
	dirs, err := os.ReadDir(binaries)
	if err != nil {
		return
	}
	type kept struct {
		dir  string
		used time.Time
		size int64
	}
	var all []kept
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		k := kept{dir: filepath.Join(binaries, d.Name())}
		if st, err := os.Lstat(filepath.Join(k.dir, sealName)); err == nil {
			k.used = st.ModTime()
		} else if st, err := os.Lstat(k.dir); err == nil {
			k.used = st.ModTime()
		}
		if st, err := os.Lstat(filepath.Join(k.dir, binaryName)); err == nil {
			k.size = st.Size()
		}
		all = append(all, k)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.After(all[j].used) })
	var total int64
	for i, k := range all {
		total += k.size
		if i >= keep || i > 0 && total > budget {
			if privtmp.RemoveUnheld(k.dir) {
				total -= k.size
			}
		}
	}
}
