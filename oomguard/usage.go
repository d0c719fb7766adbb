package oomguard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/procfs"
)

// Usage returns the current usage counted against the limit, in bytes: the
// cgroup's memory.current (v2) or memory.usage_in_bytes (v1), page cache
// included, or the process's resident size for a host limit.
//
// The first call opens l.UsagePath and keeps it open for the life of the
// process (one descriptor per distinct path); later calls are one pread and do
// not allocate, so Usage can be polled every millisecond.
//
//	used, err := l.Usage()
//	if err == nil && used > l.Bytes/10*9 {
//		log.Printf("at %d of %d bytes", used, l.Bytes)
//	}
func (l Limit) Usage() (uint64, error) {
	u, err := sharedUsageFile(l.UsagePath)
	if err != nil {
		return 0, err
	}
	return u.read()
}

// usageFiles holds the files Limit.Usage reads, by path. Limit is a plain
// value that callers copy and build themselves, so the open file cannot live
// in it; a process only ever reads a handful of usage files.
var usageFiles struct {
	sync.Mutex
	m map[string]*usageFile
}

func sharedUsageFile(path string) (*usageFile, error) {
	usageFiles.Lock()
	defer usageFiles.Unlock()
	if u := usageFiles.m[path]; u != nil {
		return u, nil
	}
	u, err := openUsageFile(path)
	if err != nil {
		return nil, err
	}
	if usageFiles.m == nil {
		usageFiles.m = make(map[string]*usageFile)
	}
	usageFiles.m[path] = u
	return u, nil
}

// usageFile reads a usage file again and again through one descriptor.
// Cgroup and proc files are seq_files: a read at offset 0 regenerates them.
type usageFile struct {
	path     string
	statm    bool
	pageSize uint64

	mu sync.Mutex
	// f is kept out of the program's way: see ownfd.
	f   *ownfd.File
	buf [128]byte
}

func openUsageFile(path string) (*usageFile, error) {
	if path == "" {
		return nil, errors.New("oomguard: the limit has no usage path")
	}
	f, err := ownfd.Open(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("oomguard: %w", err)
	}
	return &usageFile{
		path:     path,
		statm:    filepath.Base(path) == "statm",
		pageSize: uint64(os.Getpagesize()),
		f:        f,
	}, nil
}

func (u *usageFile) read() (uint64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.f == nil {
		return 0, fmt.Errorf("oomguard: %s: %w", u.path, os.ErrClosed)
	}
	n, err := u.readAt0()
	if err != nil {
		return 0, fmt.Errorf("oomguard: reading %s: %w", u.path, err)
	}
	return parseUsage(u.buf[:n], u.statm, u.pageSize, u.path)
}

func (u *usageFile) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.f == nil {
		return nil
	}
	err := u.f.Close()
	u.f = nil
	if err != nil {
		return fmt.Errorf("oomguard: %w", err)
	}
	return nil
}

// parseUsage parses the contents of a usage file without allocating (except
// for an error): a decimal number of bytes, or, for statm, the second field
// (resident pages) times the page size.
func parseUsage(b []byte, statm bool, pageSize uint64, path string) (uint64, error) {
	if statm {
		resident, _, ok := procfs.Statm(b)
		if !ok {
			return 0, fmt.Errorf("oomguard: %s: unexpected contents %q", path, b)
		}
		return resident * pageSize, nil
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	v, end, ok := parseUint(b, i)
	if !ok || (end < len(b) && b[end] != '\n' && b[end] != ' ') {
		return 0, fmt.Errorf("oomguard: %s: unexpected contents %q", path, b)
	}
	return v, nil
}

// parseUint parses the decimal digits of b starting at i.
func parseUint(b []byte, i int) (v uint64, end int, ok bool) {
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (1<<64-1-d)/10 {
			return 0, i, false
		}
		v = v*10 + d
	}
	return v, i, i > start
}
