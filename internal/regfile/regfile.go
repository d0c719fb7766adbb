// Package regfile opens the files gofil reads (a run's, a report's, a
// profile, a source file) only when they are regular files, and reads them
// only up to a limit, so that nothing put in a file's place can hang gofil
// or exhaust its memory.
package regfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/gofil/gofil/internal/units"
)

// MaxInputBytes is the most gofil reads of a file or an answer as stored,
// so that its own memory is bounded whatever the input.
const MaxInputBytes = 256 << 20

// Open opens the file at path for reading if it is a regular file:
// the one way the report side opens a file of a run or report directory,
// or a profile. It opens without waiting (O_NONBLOCK: a FIFO without a
// writer, or a device, opens at once) and looks at what it opened, not at
// what the path named a moment before, so that nothing put in a file's
// place can hang gofil; a FIFO, a device or a directory is one line of
// error.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is %s, not a regular file", path, fileKind(st.Mode()))
	}
	return f, st, nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// ReadLimited reads the regular file at path, failing with one line
// when it is not one (a FIFO, a device: see Open) or when it holds
// more than limit bytes, which the line names.
func ReadLimited(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, tooLarge(path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, limit)
	}
	return data, nil
}

func tooLarge(path string, limit int64) error {
	return fmt.Errorf("%s is larger than %s, more than gofil reads", path, units.Bytes(limit))
}

// OpenLimited opens the regular file at path (see Open) for a
// reader that stops after limit bytes: the files that are read a line at
// a time, whose lines past the limit are left unread.
func OpenLimited(path string, limit int64) (io.ReadCloser, error) {
	f, _, err := Open(path)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, limit), f}, nil
}
