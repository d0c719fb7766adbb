package tracker

import (
	"runtime/debug"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
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

// TestOwnModuleOfStandIn: a command gofil built from a copy (pkg@version)
// is its module's, not the copy's, whatever the main module is.
func TestOwnModuleOfStandIn(t *testing.T) {
	bi := &debug.BuildInfo{
		Path: "github.com/itchyny/gojq/cmd/gojq/" + raw.StandInElem,
		Main: debug.Module{Path: "github.com/itchyny/gojq/cmd/gojq/" + raw.StandInElem},
		Deps: []*debug.Module{{Path: "github.com/itchyny/go-yaml"}, {Path: "github.com/itchyny/gojq"}, {Path: "github.com/itchyny/gojq/cmd"}},
	}
	if got := ownModuleOf(bi); got != "github.com/itchyny/gojq/cmd" {
		t.Errorf("ownModuleOf(stand-in of gojq) = %q, want the longest module holding its package", got)
	}
	bi.Deps = bi.Deps[:2]
	if got := ownModuleOf(bi); got != "github.com/itchyny/gojq" {
		t.Errorf("ownModuleOf(stand-in of gojq) = %q, want github.com/itchyny/gojq", got)
	}
	plain := &debug.BuildInfo{Path: "example.com/job/cmd/job", Main: debug.Module{Path: "example.com/job"}}
	if got := ownModuleOf(plain); got != "example.com/job" {
		t.Errorf("ownModuleOf(a main module's command) = %q, want example.com/job", got)
	}
}
