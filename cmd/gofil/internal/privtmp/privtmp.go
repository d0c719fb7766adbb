// Package privtmp points os.TempDir at a directory no other user can write
// while the packages gofil links initialise, and gives the user's own back
// when gofil's main starts.
//
// go-graphviz's package initialisation opens a wazero compilation cache at
// os.TempDir()/go-graphviz, creating it if missing, and loads the machine
// code it finds there: in a shared /tmp another user could plant it, and
// once one user has created the directory every other user's gofil fails
// on it. Packages initialise in the order of their import paths, each after
// those it imports (the Go spec, "Package initialization"): this package
// imports only the standard library and its path sorts before
// github.com/tetratelabs/wazero, which go-graphviz's cache package imports,
// so its init runs first.
//
//	import "github.com/gofil/gofil/cmd/gofil/internal/privtmp"
//
//	func main() {
//		privtmp.Restore() // first thing: what follows sees the user's TMPDIR
//		...
//	}
package privtmp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

var (
	userTMPDIR string
	hadTMPDIR  bool
	// Dir is the private directory os.TempDir pointed at during
	// initialisation, "" if none could be made (the cache is then off).
	Dir string
)

func init() {
	userTMPDIR, hadTMPDIR = os.LookupEnv("TMPDIR")
	dir, err := private()
	if err != nil {
		// A directory that cannot exist: go-graphviz then keeps no cache.
		os.Setenv("TMPDIR", filepath.Join(string(filepath.Separator), "nonexistent", "gofil-no-private-tmp"))
		return
	}
	Dir = dir
	os.Setenv("TMPDIR", dir)
}

// private returns the user's own directory for gofil's temporary files,
// ~/.cache/gofil/tmp (or under $XDG_CACHE_HOME), made 0700 if missing and
// checked: a directory, not a link, owned by the user, writable by no one
// else.
func private() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "gofil", "tmp")
	if err := MakePrivate(dir); err != nil {
		return "", err
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
// owned by the user running gofil that no one else can write.
func Check(dir string) error {
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

// Restore gives the process back the TMPDIR it was started with.
func Restore() {
	if hadTMPDIR {
		os.Setenv("TMPDIR", userTMPDIR)
	} else {
		os.Unsetenv("TMPDIR")
	}
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

// Alive reports whether a process with this id exists.
func Alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

func owned(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
