// Package ownfd keeps the descriptors of gofil's agent out of the way of
// the program it is compiled into.
//
// A program owns every descriptor number: it may close one it never
// opened (a daemon closing all but 0–2, a fork-and-exec helper) and open
// its own file at the same number. A descriptor the agent went on writing
// through would then write into the program's file. A File therefore
// lives at a high number (the program's own files take the lowest free
// ones), close-on-exec, and before each use checks with fstat that the
// number still holds the file it opened (device and inode). When it does
// not, the number is the program's: it is never read, written or closed
// again, and a File that has a path opens it again, writing only to the
// same file as before. (A file removed and another created in its place
// may be given its inode: the agent removes none of its files while the
// program runs.)
//
// It is compiled into the profiled program: standard library only, the Go
// 1.19 language.
package ownfd

import "errors"

// ErrLost is returned by a File whose descriptor the program closed or
// took over and that could not be opened again.
var ErrLost = errors.New("the descriptor is no longer the agent's: the program closed or reused it")
