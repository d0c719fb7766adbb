package rundirs

import (
	"errors"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/raw"
)

// DefaultKeep is how many run directories of a program a production run
// keeps when `gofil build --keep` baked none in.
const DefaultKeep = 20

// unlockedAge is how old a run directory without a lock file must be for
// a pruning process to take it as abandoned: younger, it may be one
// another process made a moment ago and is about to lock.
const unlockedAge = time.Minute

// KeepCount is how many run directories of the program to keep: GOFIL_KEEP,
// else what `gofil build --keep` baked in, else DefaultKeep; 0 keeps all.
func KeepCount(baked, env string) int {
	for _, s := range []string{env, baked} {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return n
		}
	}
	return DefaultKeep
}

// lockRunDir makes and locks dir's RunLock. It reports false when dir
// was removed, or its lock taken, by a pruning process between its making
// and its locking: the caller makes another.
func lockRunDir(dir string) (*ownfd.File, bool, error) {
	f, err := ownfd.Open(joinPath(dir, raw.RunLock), syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !held(f.Fd(), dir) {
		f.Close()
		return nil, false, nil
	}
	return f, true, nil
}

// held takes fd's lock, exclusive, without waiting, and reports whether it
// has it and fd is still dir's RunLock (not one a pruning process removed
// with its directory since it was opened).
func held(fd int, dir string) bool {
	if fd < 0 || flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false
	}
	var a, b syscall.Stat_t
	if syscall.Fstat(fd, &a) != nil || syscall.Lstat(joinPath(dir, raw.RunLock), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// flock is flock(2) on fd, tried again when a signal interrupts it.
func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// Prune removes from out the run directories of program (named by
// runDirName, owned by this user) but the newest keep, by the start time
// in their names: those no living process holds locked. A directory
// without a lock file (made by a tracker that locked nothing, or one about
// to lock it) is removed only when unchanged for unlockedAge. keep 0
// keeps all. It returns how many it removed.
func Prune(out, program string, keep int, now time.Time) int {
	if keep <= 0 {
		return 0
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return 0
	}
	prefix := SafeName(baseName(program)) + "-"
	type runDir struct{ name, time string }
	var dirs []runDir
	for _, e := range entries {
		if t, ok := runDirTime(e.Name(), prefix); ok && e.IsDir() {
			dirs = append(dirs, runDir{e.Name(), t})
		}
	}
	if len(dirs) <= keep {
		return 0
	}
	sort.Slice(dirs, func(i, j int) bool {
		if dirs[i].time != dirs[j].time {
			return dirs[i].time > dirs[j].time
		}
		return dirs[i].name > dirs[j].name
	})
	removed := 0
	for _, d := range dirs[keep:] {
		if removeUnheld(joinPath(out, d.name), now) {
			removed++
		}
	}
	return removed
}

// runDirTime returns the start time in name, a run directory's name of the
// program whose names begin with prefix: PREFIX-TIME-HOST-PID[-N].
func runDirTime(name, prefix string) (string, bool) {
	const layout = "20060102T150405Z"
	if len(name) <= len(prefix)+len(layout)+1 || name[:len(prefix)] != prefix {
		return "", false
	}
	t := name[len(prefix) : len(prefix)+len(layout)]
	if name[len(prefix)+len(layout)] != '-' {
		return "", false
	}
	if _, err := time.Parse(layout, t); err != nil {
		return "", false
	}
	return t, true
}

// removeUnheld removes dir, a run directory of this user's, with
// everything in it, while it holds its lock, when no other process holds
// it; one without a lock file only when unchanged for unlockedAge.
func removeUnheld(dir string, now time.Time) bool {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() || !ownedByUser(st) {
		return false
	}
	fd, err := syscall.Open(joinPath(dir, raw.RunLock), syscall.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		if now.Sub(lastChange(dir, st)) < unlockedAge {
			return false
		}
		return os.RemoveAll(dir) == nil
	}
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	if !held(fd, dir) {
		return false
	}
	return os.RemoveAll(dir) == nil
}

// lastChange is when dir (st), its raw directory or its timeline, which a
// living tracker appends to every few tens of milliseconds, last changed.
func lastChange(dir string, st os.FileInfo) time.Time {
	last := st.ModTime()
	for _, p := range []string{joinPath(dir, raw.SubDir), joinPath(joinPath(dir, raw.SubDir), raw.TimelineFile)} {
		if st, err := os.Lstat(p); err == nil && st.ModTime().After(last) {
			last = st.ModTime()
		}
	}
	return last
}

func ownedByUser(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}

func joinPath(dir, name string) string { return dir + string(os.PathSeparator) + name }
