//go:build unix

package ownfd

import (
	"os"
	"sync"
	"syscall"
)

// File is a descriptor of the agent's own; see the package comment. Its
// methods are safe for concurrent use. It has no finalizer: a number that
// was lost to the program must never be closed behind its back.
type File struct {
	mu   sync.Mutex
	fd   int // -1 once lost or closed
	dev  uint64
	ino  uint64
	path string // opened again when lost; "" for none
	flag int    // to open path again
	// same says path must open the same file (device and inode) again:
	// for a file written, never for a /proc file read, whose inode may
	// change between two opens.
	same   bool
	closed bool
}

// Open opens path as os.OpenFile would, close-on-exec, and moves the
// descriptor to a high number. A file opened for writing is opened again
// only if it is the same file; one opened read-only, whatever it is then.
//
//	f, err := ownfd.Open("/proc/self/statm", syscall.O_RDONLY, 0)
//	n, err := f.ReadAt(buf, 0)
func Open(path string, flag int, perm uint32) (*File, error) {
	fd, err := open(path, flag, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := &File{
		path: path,
		flag: flag &^ (syscall.O_CREAT | syscall.O_EXCL | syscall.O_TRUNC),
		same: flag&(syscall.O_WRONLY|syscall.O_RDWR) != 0,
	}
	if err := f.adopt(fd); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	return f, nil
}

// Take makes fd, a descriptor the agent was handed (gofil's pipe), a File:
// it is moved to a high number, close-on-exec, and fd itself is closed, so
// that the program finds that number free, as without gofil. A taken File
// cannot be opened again.
func Take(fd int) (*File, error) {
	f := &File{}
	if err := f.adopt(fd); err != nil {
		return nil, err
	}
	return f, nil
}

// adopt records fd's identity and moves it high, closing fd when it moved.
func (f *File) adopt(fd int) error {
	var st syscall.Stat_t
	if err := fstat(fd, &st); err != nil {
		return err
	}
	f.dev, f.ino = uint64(st.Dev), uint64(st.Ino)
	f.fd = fd
	if high, err := dupHigh(fd); err == nil {
		syscall.Close(fd)
		f.fd = high
	} else {
		syscall.CloseOnExec(fd)
	}
	return nil
}

// ours returns the descriptor if it still holds the file f opened, else
// opens the file again if it can, else -1. f.mu is held.
func (f *File) ours() int {
	if f.closed {
		return -1
	}
	var st syscall.Stat_t
	if f.fd >= 0 {
		if fstat(f.fd, &st) == nil && uint64(st.Dev) == f.dev && uint64(st.Ino) == f.ino {
			return f.fd
		}
		// The program closed the number, and may have opened a file of
		// its own there: it is the program's now.
		f.fd = -1
	}
	if f.path == "" {
		return -1
	}
	fd, err := open(f.path, f.flag, 0)
	if err != nil {
		return -1
	}
	if fstat(fd, &st) != nil || f.same && (uint64(st.Dev) != f.dev || uint64(st.Ino) != f.ino) {
		syscall.Close(fd)
		return -1
	}
	if f.adopt(fd) != nil {
		syscall.Close(fd)
		return -1
	}
	return f.fd
}

// Write writes all of p, or says why not.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.ours()
	if fd < 0 {
		return 0, f.lostErr()
	}
	n := 0
	for n < len(p) {
		m, err := syscall.Write(fd, p[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: f.path, Err: err}
		}
		n += m
	}
	return n, nil
}

// WriteString writes s.
func (f *File) WriteString(s string) (int, error) { return f.Write([]byte(s)) }

// ReadAt reads into p from offset off with one pread(2).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.ours()
	if fd < 0 {
		return 0, f.lostErr()
	}
	for {
		n, err := syscall.Pread(fd, p, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		return n, nil
	}
}

// Sync flushes the file to disk.
func (f *File) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.ours()
	if fd < 0 {
		return f.lostErr()
	}
	for {
		err := syscall.Fsync(fd)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "sync", Path: f.path, Err: err}
		}
		return nil
	}
}

// Close closes the descriptor if it is still the agent's; a number the
// program took over is left alone. Later calls do nothing.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	var st syscall.Stat_t
	fd := f.fd
	f.closed, f.fd = true, -1
	if fd >= 0 && fstat(fd, &st) == nil && uint64(st.Dev) == f.dev && uint64(st.Ino) == f.ino {
		return syscall.Close(fd)
	}
	return nil
}

// Fd returns the descriptor's number as it is now, -1 if lost or closed.
func (f *File) Fd() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ours()
}

func (f *File) lostErr() error {
	if f.closed {
		return os.ErrClosed
	}
	return &os.PathError{Op: "use", Path: f.path, Err: ErrLost}
}

func open(path string, flag int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, perm)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		err := syscall.Fstat(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}

// highBase is the least number a descriptor is moved to: far above those
// a program usually holds, which take the lowest free numbers, but low
// enough that the kernel's table of descriptors stays small, and below the
// limit on open files.
func highBase() int {
	baseOnce.Do(func() {
		base = 1000
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < 2*uint64(base) {
			base = int(lim.Cur / 2)
		}
	})
	return base
}

var (
	baseOnce sync.Once
	base     int
)
