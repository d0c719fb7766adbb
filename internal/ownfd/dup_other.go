//go:build unix && !linux

package ownfd

import "syscall"

// dupHigh does not move descriptors outside Linux: they stay where they
// were opened, close-on-exec, and are checked before each use all the same.
func dupHigh(fd int) (int, error) { return -1, syscall.ENOTSUP }
