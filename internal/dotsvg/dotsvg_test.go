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
