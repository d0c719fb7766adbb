// Package rundirs makes the run directories of programs `gofil build`
// built, one per process, private to the user, and keeps the newest of
// them: it is compiled into those programs, standard library only.
package rundirs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/privdir"
	"github.com/gofil/gofil/internal/raw"
)

// Make makes the process's run directory in out, private to the
// user (0700), and holds its lock (raw.RunLock) for the life of the
// process: out is made too if missing, and must be a directory of the
// user's that no other user can write or move (privdir.Check). Its name,
// Name's, holds the start time, host and process id, so that
// replicas and restarts never share one and they sort by time; an image
// that replaced another by exec, with the same pid in the same second,
// gets the next free suffix.
func Make(out, program, host string, now time.Time, pid int) (string, *ownfd.File, error) {
	if err := privdir.MakePrivate(out); err != nil {
		return "", nil, fmt.Errorf("%s: %w", raw.EnvOut, err)
	}
	base := out + string(os.PathSeparator) + Name(program, now, host, pid)
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			lock, ok, lerr := lockRunDir(dir)
			switch {
			case ok:
				return dir, lock, nil
			case lerr != nil:
				os.Remove(dir)
				return "", nil, fmt.Errorf("run directory: %w", lerr)
			}
			// A pruning process removed or held it meanwhile: the next.
			err = fs.ErrExist
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return "", nil, fmt.Errorf("run directory: %w", err)
		}
		dir = base + "-" + strconv.Itoa(i)
	}
}

// Name is PROGRAM-TIME-HOST-PID, TIME the UTC start time to the
// second (20261206T031500Z); characters other than letters, digits, '.',
// '_' and '-' in the program's and host's names become '_'.
func Name(program string, now time.Time, host string, pid int) string {
	return SafeName(baseName(program)) + "-" + now.UTC().Format("20060102T150405Z") + "-" + SafeName(host) + "-" + strconv.Itoa(pid)
}

// baseName is program's last path element.
func baseName(program string) string {
	if i := strings.LastIndexByte(program, '/'); i >= 0 {
		return program[i+1:]
	}
	return program
}

// SafeName is s made a file name: characters other than letters,
// digits, '.', '_' and '-' become '_', and a name that is empty or starts
// with '.' gets a '_' in front.
func SafeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "_" + string(b)
	}
	return string(b)
}
