//go:build !unix

package oomguard

import (
	"errors"
	"io"
)

func (u *usageFile) readAt0() (int, error) {
	n, err := u.f.ReadAt(u.buf[:], 0)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// syncDir does nothing: outside Unix a directory cannot be opened for
// fsync(2) (Windows refuses FlushFileBuffers on a directory handle).
func syncDir(dir string) error { return nil }
