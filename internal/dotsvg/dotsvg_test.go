package dotsvg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelperBuiltAndMended: in a fresh cache the helper is built, private,
// and lays a graph out; a helper gone bad (here, not an executable any
// more) is built again rather than failing every call graph after it; a
// graph Graphviz cannot read is an error naming the cause.
func TestHelperBuiltAndMended(t *testing.T) {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(out))) // warm, whatever the cache home
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ctx := context.Background()
	svg, err := Render(ctx, []byte("digraph { a -> b }"))
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("first render: %v\n%.200s", err, svg)
	}
	cache := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "gofil")
	bin := filepath.Join(helperDir(cache), binaryName)
	st, err := os.Stat(bin)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("helper %s: %v, %v", bin, st, err)
	}
	if err := os.WriteFile(bin, []byte("not an executable"), 0o700); err != nil {
		t.Fatal(err)
	}
	if svg, err := Render(ctx, []byte("digraph { c -> d }")); err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("render with a broken helper: %v", err)
	}
	if _, err := Render(ctx, []byte("digraph { a -> ")); err == nil {
		t.Error("a broken graph rendered")
	}
}

// TestPrestart: a helper started before its graph lays out the next graph
// Render is given, the same as a helper started for it; one given no graph
// is ended by stop and leaves no process, and a second Prestart keeps it;
// with no helper built yet, Prestart starts nothing and builds nothing.
func TestPrestart(t *testing.T) {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(out)))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ctx := context.Background()
	Prestart(ctx)()
	cache := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "gofil")
	if _, err := os.Stat(helperDir(cache)); err == nil {
		t.Fatalf("Prestart built the helper")
	}
	dot := []byte("digraph { a -> b; b -> c }")
	want, err := Render(ctx, dot)
	if err != nil {
		t.Fatal(err)
	}
	stop := Prestart(ctx)
	early.Lock()
	p := early.p
	early.Unlock()
	if p == nil {
		t.Fatal("Prestart started no helper once it was built")
	}
	got, err := Render(ctx, dot)
	if p.cmd.ProcessState == nil {
		t.Errorf("the prestarted helper was not the one Render used")
	}
	stop()
	if err != nil || string(got) != string(want) {
		t.Errorf("the prestarted helper's layout differs: %v\n%.300s\nwant\n%.300s", err, got, want)
	}
	stop = Prestart(ctx)
	early.Lock()
	p = early.p
	early.Unlock()
	// A second Prestart, by a caller that does not know of the first,
	// keeps the helper waiting; its stop leaves it to the first's.
	Prestart(ctx)()
	early.Lock()
	kept := early.p
	early.Unlock()
	if kept != p || p.cmd.ProcessState != nil {
		t.Errorf("a second Prestart replaced or ended the waiting helper")
	}
	stop()
	if p == nil || p.cmd.ProcessState == nil {
		t.Errorf("stop left the unused helper running")
	}
}
