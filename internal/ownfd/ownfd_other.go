//go:build !unix

package ownfd

import "os"

// File is a file of the agent's own. Outside Unix it is a plain *os.File:
// descriptor numbers are not reused there as they are on Unix.
type File struct{ *os.File }

// Open opens path as os.OpenFile would.
func Open(path string, flag int, perm uint32) (*File, error) {
	f, err := os.OpenFile(path, flag, os.FileMode(perm))
	if err != nil {
		return nil, err
	}
	return &File{f}, nil
}

// Take makes fd a File.
func Take(fd int) (*File, error) { return &File{os.NewFile(uintptr(fd), "gofil")}, nil }
