// Package privtmp makes and checks the directories gofil keeps its own
// files in: private to the user running it, since the go command compiles
// and gofil executes what it finds there.
package privtmp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/privdir"
)

// CacheDir returns gofil's own cache, created if missing: the agent's
// source, each build's files and binary, and the Graphviz helper. It is the
// user's (~/.cache/gofil), or, without a home or with one where it cannot
// be made private (read-only, say), a directory of the user's own in the
// temporary directory; either is checked as Check does.
func CacheDir() (string, error) {
	if base, err := os.UserCacheDir(); err == nil {
		dir := filepath.Join(base, "gofil")
		if MakePrivate(dir) == nil {
			return dir, nil
		}
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("gofil-%d", os.Getuid()))
	if err := MakePrivate(dir); err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return dir, nil
}

// MakePrivate creates dir, 0700, with any parents missing, and checks it as
// Check does: an existing directory another user owns or can write, or a
// symbolic link, is an error, never used.
func MakePrivate(dir string) error { return privdir.MakePrivate(dir) }

// Check reports an error unless dir is a directory (not a symbolic link)
// owned by the user running gofil that no one else can write, reached
// through directories no one else can change (privdir.Check).
func Check(dir string) error { return privdir.Check(dir) }

// Pattern is the os.MkdirTemp pattern of a directory made by this process
// under prefix: prefix, the process id and a dash. The id only tells a
// reader who made it: a directory made by MakeTemp is in use while its
// lock is held, whatever process ids another PID namespace sees.
func Pattern(prefix string) string {
	return prefix + strconv.Itoa(os.Getpid()) + "-"
}

// LockName is the file in a directory made by MakeTemp, or held by Share,
// whose lock (flock(2)) says that a process uses the directory. The kernel
// lets the lock go when the process ends, however it ends, and a lock is
// seen by every process on the machine, in any PID namespace, that opens
// the same file: unlike a process id, it cannot be taken for another's.
// It is a regular file opened for writing, which an exclusive lock needs
// on NFS, where flock is made of POSIX locks.
const LockName = ".gofil-lock"

// A Lock is a held lock on a directory's LockName: while it is held, Sweep
// and RemoveUnheld leave the directory alone.
type Lock struct {
	f *os.File
}

// Unlock lets the directory go: the next Sweep of its parent may remove
// it. Unlock on a lock already let go does nothing.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the only descriptor of the file lets the lock go
	l.f = nil
	return err
}

// Temp is a directory made by MakeTemp, held by this process until Remove
// or Unlock.
type Temp struct {
	// Dir is the directory's path.
	Dir string
	Lock
}

// MakeTemp makes a new directory in parent, private to the user (0700),
// named by Pattern(prefix) and a random suffix, and holds it: Sweep(parent,
// prefix) in any process leaves it alone until this process removes it,
// lets it go or ends. The caller removes it with Remove:
//
//	tmp, err := privtmp.MakeTemp(cache, "build-")
//	if err != nil {
//		return err
//	}
//	defer tmp.Remove()
func MakeTemp(parent, prefix string) (*Temp, error) {
	// Between the directory's making and its lock, a sweep may take it
	// for a dead process's and remove it: the lock is taken without
	// waiting, and the directory is taken only when the lock taken is on
	// the file still in it. A sweep holds the lock while it removes.
	for try := 0; try < 10; try++ {
		dir, err := os.MkdirTemp(parent, Pattern(prefix))
		if err != nil {
			return nil, err
		}
		f, err := openLock(dir, true)
		if errors.Is(err, fs.ErrNotExist) {
			continue // swept already
		}
		if err != nil {
			os.Remove(dir) // made empty a moment ago; a sweep may have it too
			return nil, err
		}
		if held(f, dir) {
			return &Temp{Dir: dir, Lock: Lock{f}}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("%s: every directory made was swept at once", parent)
}

// Remove removes the directory and everything in it, then lets it go. It
// does nothing once the directory is removed or let go.
func (t *Temp) Remove() error {
	if t.f == nil {
		return nil
	}
	err := os.RemoveAll(t.Dir)
	if uerr := t.Unlock(); err == nil {
		err = uerr
	}
	return err
}

// Share holds dir, an existing directory of the user's (not a symbolic
// link), shared: any number of processes may hold it at once, and
// RemoveUnheld and Sweep leave it alone while one does. Its LockName is
// made if missing. Share waits while a sweep holds the directory to remove
// it, and then reports it missing.
func Share(dir string) (*Lock, error) {
	return hold(dir, syscall.LOCK_SH)
}

// Own holds dir, an existing directory of the user's (not a symbolic
// link), alone: it waits until no other process holds it (Own, Share,
// MakeTemp), and RemoveUnheld and Sweep leave it alone while it is held.
// Its LockName is made if missing. Own reports dir missing when a sweep
// removed it while Own waited.
func Own(dir string) (*Lock, error) {
	return hold(dir, syscall.LOCK_EX)
}

// hold takes dir's lock, shared or exclusive as how says, waiting for it.
func hold(dir string, how int) (*Lock, error) {
	for try := 0; try < 10; try++ {
		st, err := os.Lstat(dir)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() || !owned(st) {
			return nil, fmt.Errorf("%s is not a directory of the user's", dir)
		}
		f, err := openLock(dir, true)
		if err != nil {
			return nil, err
		}
		if err := flock(f, how); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		if same(f, dir) {
			return &Lock{f}, nil
		}
		f.Close() // moved away or removed meanwhile: the one there now
	}
	return nil, fmt.Errorf("%s: moved away each time it was locked", dir)
}

// Sweep removes what gofil processes that ended without cleaning up (killed
// with SIGKILL, say) left in dir: directories named by Pattern(prefix),
// owned by this user, that no process holds. A directory without a
// LockName, made by a gofil that locked nothing, is taken as held while a
// process of the id in its name exists. Another user's entry is left alone.
func Sweep(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		unlocked := ok && err == nil && pid > 0 && !Alive(pid)
		removeUnheld(filepath.Join(dir, e.Name()), unlocked)
	}
}

// RemoveUnheld removes dir, a directory of the user's that gofil made,
// with everything in it, unless a process holds it (MakeTemp, Share). It
// reports whether it removed it. Sweep removes it later if not.
func RemoveUnheld(dir string) bool {
	return removeUnheld(dir, true)
}

// removeUnheld removes dir when it can hold it itself, without waiting, and
// while it holds it. A dir without a LockName is held by no one when
// unlocked says so: one is then made, and held, since its maker may be
// about to make one and use the directory (MakeTemp, Share).
func removeUnheld(dir string, unlocked bool) bool {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() || !owned(st) {
		return false
	}
	f, err := openLock(dir, false)
	if errors.Is(err, fs.ErrNotExist) && unlocked {
		f, err = openLock(dir, true)
	}
	if err != nil {
		return false
	}
	defer f.Close()
	if !held(f, dir) {
		return false
	}
	return os.RemoveAll(dir) == nil
}

// openLock opens dir's LockName for writing, made (private to the user)
// when create says so. A symbolic link in its place is not followed.
func openLock(dir string, create bool) (*os.File, error) {
	flags := os.O_RDWR | syscall.O_NOFOLLOW
	if create {
		flags |= os.O_CREATE
	}
	return os.OpenFile(filepath.Join(dir, LockName), flags, 0o600)
}

// held takes f's lock, exclusive, without waiting, and reports whether it
// has it and f is still dir's LockName (not a file moved away, or removed
// by a sweep, since it was opened).
func held(f *os.File, dir string) bool {
	return flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil && same(f, dir)
}

// same reports whether f is the file at dir's LockName.
func same(f *os.File, dir string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(filepath.Join(dir, LockName))
	return err == nil && os.SameFile(a, b)
}

// flock is flock(2) on f, tried again when a signal interrupts it.
func flock(f *os.File, how int) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := conn.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}

// KillGroupOnCancel runs cmd in a process group of its own and, when its
// context ends, kills the whole group: the go command and the compilers and
// linker it started, which killing the go command alone would leave
// running.
func KillGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
}

// Alive reports whether a process with this id exists.
func Alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

func owned(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
