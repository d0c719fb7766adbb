package tracker

import (
	"testing"
	"time"
)

// TestWriteGap: a file that is quick to write is rewritten at its usual
// interval; one that took long waits writeShare times as long, so that
// rewriting it takes at most 1/writeShare of the program's time.
func TestWriteGap(t *testing.T) {
	for _, c := range []struct {
		every, took, want time.Duration
	}{
		{100 * time.Millisecond, time.Millisecond, 100 * time.Millisecond},
		{100 * time.Millisecond, 5 * time.Millisecond, 100 * time.Millisecond},
		{100 * time.Millisecond, 50 * time.Millisecond, time.Second},
		{2 * time.Second, 400 * time.Millisecond, 8 * time.Second},
	} {
		if got := writeGap(c.every, c.took); got != c.want {
			t.Errorf("writeGap(%v, %v) = %v, want %v", c.every, c.took, got, c.want)
		}
	}
}

// TestOwnModule: the module of the main package, from the build
// information: a test binary's main package is in gofil's module.
func TestOwnModule(t *testing.T) {
	if got := ownModule(); got != "github.com/gofil/gofil" {
		t.Errorf("ownModule() = %q, want github.com/gofil/gofil", got)
	}
}
