//go:build go1.24 && gofil_linkname

package tracker

import (
	"sync"
	"syscall"
	"unsafe"
)

// This file reaches into the runtime and os/signal, which offer no API for
// what it needs. It links only with -ldflags=-checklinkname=0, so it is
// built under the tag gofil_linkname, which `gofil run` passes with that
// flag (as `make test` does); a plain `go build` or `go test` of the
// package builds runtime_other.go instead. runtime_test.go fails loudly
// when a Go release changes either.

// exitHooksSupported says that os.Exit and a return from main run the
// tracker's final accounting.
const exitHooksSupported = true

// exitHook mirrors internal/runtime/exithook.Hook (Go 1.24+). The runtime
// runs the hooks on os.Exit and when main returns (src/runtime/proc.go,
// runExitHooks), but not when a panic or a signal ends the program.
type exitHook struct {
	F            func()
	RunOnFailure bool
}

//go:linkname addExitHook internal/runtime/exithook.Add
func addExitHook(h exitHook)

func installExitHook(f func()) {
	addExitHook(exitHook{F: f, RunOnFailure: true})
}

// signalHandlersMirror is the head of os/signal's handlers variable
// (src/os/signal/signal.go): a mutex, the channel map, and per signal the
// number of channels that want it.
type signalHandlersMirror struct {
	sync.Mutex
	_   unsafe.Pointer // m, the channel map
	ref [65]int64
}

//go:linkname osSignalHandlers os/signal.handlers
var osSignalHandlers signalHandlersMirror

// signalHandlers returns how many channels, other than ones stopped, are
// registered with os/signal for sig.
func signalHandlers(sig syscall.Signal) int64 {
	if int(sig) < 0 || int(sig) >= len(osSignalHandlers.ref) {
		return 0
	}
	osSignalHandlers.Lock()
	defer osSignalHandlers.Unlock()
	return osSignalHandlers.ref[sig]
}
