package ownfd

import "syscall"

// dupHigh duplicates fd to the lowest free number from highBase on,
// close-on-exec.
func dupHigh(fd int) (int, error) {
	b := highBase()
	if b <= fd {
		return -1, syscall.EINVAL
	}
	for {
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, uintptr(b))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}
