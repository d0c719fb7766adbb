package memtest

import (
	"fmt"
	"testing"
)

// fakeTB is a testing.TB that records errors and cleanups instead of
// failing, so that an over-budget test can be checked.
type fakeTB struct {
	testing.TB
	name     string
	errors   []string
	cleanups []func()
}

func newFake(t *testing.T, name string) *fakeTB { return &fakeTB{TB: t, name: name} }

func (f *fakeTB) Name() string        { return f.name }
func (f *fakeTB) Helper()             {}
func (f *fakeTB) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}

// end runs the cleanups, last first, as testing does.
func (f *fakeTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

// measure runs fn in a scope of the given kinds on a fake test and
// returns the fake and the scope's figures, peak first.
func measure(t *testing.T, kinds []kind, limit int64, fn func(), opts ...Option) (*fakeTB, []measured) {
	t.Helper()
	f := newFake(t, t.Name())
	for _, k := range kinds {
		open(f, k, limit, opts)
	}
	registry.mu.Lock()
	s := registry.open
	registry.mu.Unlock()
	if s == nil || s.tb != f {
		t.Fatalf("no scope open: %q", f.errors)
	}
	fn()
	f.end()
	return f, s.results
}
