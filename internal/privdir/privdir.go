// Package privdir checks that a directory is private to the user: gofil
// writes, and the go command compiles, only in directories no other user
// can change. It is compiled into the profiled program too (the tracker
// checks where a production run writes), so it imports only the standard
// library and keeps to the Go 1.19 language.
package privdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

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
