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
func MakePrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return Check(dir)
}

// Check reports an error unless dir is a directory (not a symbolic link)
// owned by the user running gofil that no one else can write, reached
// through directories no one else can change: each directory on the way
// from / to it, symbolic links followed, is owned by root or the user, and
// writable by no one else unless it is sticky (as /tmp is). Another user
// who could write one of them, or who owns one, could move dir or a
// directory above it away and put one of theirs in its place between the
// check and the use.
func Check(dir string) error {
	if err := checkDir(dir); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	return checkWay(dir, filepath.Dir(abs))
}

// maxLinks bounds the symbolic links followed on the way to a directory,
// as the kernel's own limit (MAXSYMLINKS) does.
const maxLinks = 40

// checkWay reports an error unless every directory the kernel passes
// through to reach path (an absolute path, path itself included) is one
// only root or the user can change: owned by one of them, and writable by
// no one else unless sticky. A symbolic link on the way is followed, and
// the directories on the way to its target are checked too.
func checkWay(dir, path string) error {
	todo := strings.Split(path, "/")
	at := "/"
	st, err := os.Lstat(at)
	if err != nil {
		return err
	}
	if err := checkAbove(dir, at, st); err != nil {
		return err
	}
	for links := 0; len(todo) > 0; {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			at = filepath.Dir(at)
			continue
		}
		next := filepath.Join(at, name)
		st, err := os.Lstat(next)
		if err != nil {
			return err
		}
		if st.Mode()&os.ModeSymlink != 0 {
			if links++; links > maxLinks {
				return fmt.Errorf("%s: too many symbolic links on the way", dir)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			if filepath.IsAbs(target) {
				at = "/"
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if err := checkAbove(dir, next, st); err != nil {
			return err
		}
		at = next
	}
	return nil
}

// checkAbove reports an error unless up, a directory above dir whose
// Lstat is st, is owned by root or the user and writable by no one else
// unless it is sticky.
func checkAbove(dir, up string, st os.FileInfo) error {
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", up)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot tell who owns " + up)
	}
	if sys.Uid != 0 && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%s is in %s, which uid %d owns: another user could move it away", dir, up, sys.Uid)
	}
	if st.Mode().Perm()&0o022 != 0 && st.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("%s is in %s, which others can write (%04o) and which is not sticky: another user could move it away", dir, up, st.Mode().Perm())
	}
	return nil
}

func checkDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (%v)", dir, st.Mode().Perm())
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot tell who owns " + dir)
	}
	if int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not %d", dir, sys.Uid, os.Getuid())
	}
	return nil
}

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
