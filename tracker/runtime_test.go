//go:build go1.24 && gofil_linkname

package tracker

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// TestSignalHandlersLayout fails when os/signal's handlers variable no
// longer has the layout signalHandlersMirror expects.
func TestSignalHandlersLayout(t *testing.T) {
	before := signalHandlers(syscall.SIGUSR2)
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	if got := signalHandlers(syscall.SIGUSR2); got != before+1 {
		signal.Stop(c)
		t.Fatalf("after Notify: %d handlers for SIGUSR2, want %d: os/signal's layout changed, update runtime_go124.go", got, before+1)
	}
	signal.Stop(c)
	if got := signalHandlers(syscall.SIGUSR2); got != before {
		t.Fatalf("after Stop: %d handlers for SIGUSR2, want %d: os/signal's layout changed, update runtime_go124.go", got, before)
	}
}
