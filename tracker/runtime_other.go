//go:build !go1.24 || !gofil_linkname

package tracker

import "syscall"

// Before Go 1.24 the runtime has no exit-hook list that can be reached,
// and without the tag gofil_linkname (and the linker flag it needs) it is
// not reached: os.Exit ends the program without the final accounting, and
// the report holds the heap up to the program's last GC.
const exitHooksSupported = false

func installExitHook(f func()) {}

// signalHandlers cannot see other handlers before Go 1.24; assume none, so
// that SIGINT and SIGTERM still end the program.
func signalHandlers(sig syscall.Signal) int64 { return 0 }
