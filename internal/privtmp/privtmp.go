// Package privtmp makes and checks the directories gofil keeps its own
// files in: private to the user running it, since the go command compiles
// and gofil executes what it finds there.
package privtmp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CacheDir returns gofil's own cache, created if missing: the agent's
// source, each build's files and the Graphviz helper. It is the user's
// (~/.cache/gofil), or, without a home, a directory of the user's own in
// the temporary directory; either is checked to be private.
func CacheDir() (string, error) {
	var dir string
	if base, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(base, "gofil")
	} else {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("gofil-%d", os.Getuid()))
	}
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
// owned by the user running gofil that no one else can write, in
// directories that no one else can rename it out of: each directory above
// it is either writable by no one else or sticky (as /tmp is), so that
// another user cannot put a directory of theirs in its place between the
// check and the use.
func Check(dir string) error {
	if err := checkDir(dir); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for up := filepath.Dir(abs); ; up = filepath.Dir(up) {
		st, err := os.Stat(up)
		if err != nil {
			return err
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return errors.New("cannot tell who owns " + up)
		}
		others := st.Mode().Perm()&0o002 != 0 || st.Mode().Perm()&0o020 != 0 && int(sys.Gid) != os.Getgid()
		if others && st.Mode()&os.ModeSticky == 0 {
			return fmt.Errorf("%s is in %s, which others can write and which is not sticky: another user could move it away", dir, up)
		}
		if up == filepath.Dir(up) {
			return nil
		}
	}
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
// under prefix: prefix, the process id and a dash, so that Sweep can tell
// when its maker is gone.
func Pattern(prefix string) string {
	return prefix + strconv.Itoa(os.Getpid()) + "-"
}

// Sweep removes what gofil processes that ended without cleaning up (killed
// with SIGKILL, say) left in dir: entries named by Pattern(prefix) whose
// process no longer exists, owned by this user. An entry of a live process,
// or another user's, is left alone.
func Sweep(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || Alive(pid) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if st, err := os.Lstat(p); err != nil || !owned(st) {
			continue
		}
		os.RemoveAll(p)
	}
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
