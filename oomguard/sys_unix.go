//go:build unix

package oomguard

import (
	"fmt"
	"os"
)

// readAt0 reads the file from offset 0 with one pread(2): os.File.ReadAt
// reads again until EOF, doubling the system calls.
func (u *usageFile) readAt0() (int, error) {
	return u.f.ReadAt(u.buf[:], 0)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("oomguard: %w", err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return fmt.Errorf("oomguard: syncing directory %s: %w", dir, serr)
	}
	if cerr != nil {
		return fmt.Errorf("oomguard: %w", cerr)
	}
	return nil
}
