package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWorkspaceAndCgo runs a cgo program in a go.work workspace whose
// library module is only in the workspace: 48 MiB held in the library's
// Go code, 64 MiB in C's malloc, reported outside the Go heap. The
// workspace's files are left as they were.
func TestWorkspaceAndCgo(t *testing.T) {
	ws := t.TempDir()
	files := map[string]string{
		"go.work":    "go 1.22\n\nuse (\n\t./app\n\t./lib\n)\n",
		"lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
		"lib/lib.go": `package lib

// Hold holds n MiB.
func Hold(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		out = append(out, b)
	}
	return out
}
`,
		"app/go.mod": "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n",
		"app/main.go": `package main

/*
#include <stdlib.h>
#include <string.h>
static void* grab(size_t n) { void* p = malloc(n); memset(p, 1, n); return p; }
*/
import "C"

import (
	"fmt"
	"runtime"

	"example.com/lib"
)

func main() {
	p := C.grab(64 << 20)
	b := lib.Hold(48)
	runtime.GC()
	fmt.Println(len(b), p != nil)
	runtime.KeepAlive(b)
}
`,
	}
	for name, content := range files {
		p := filepath.Join(ws, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, filepath.Join(ws, "app"), "run", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	if got := inclusive(r.summary, "example.com/lib.Hold"); !within(got, 48*mib, 0.05) {
		t.Errorf("example.com/lib.Hold holds %d bytes, want 48 MiB ±5%%", got)
	}
	if got := int64(r.summary.Peak.OutsideHeapBytes); !within(got, 64*mib, 0.10) {
		t.Errorf("outside the Go heap: %d bytes, want 64 MiB ±10%% (C's malloc)", got)
	}
	for dir, want := range map[string]int{ws: 3, filepath.Join(ws, "app"): 2, filepath.Join(ws, "lib"): 2} {
		if entries, _ := os.ReadDir(dir); len(entries) != want {
			t.Errorf("%s now holds %d entries, want %d: gofil must not add files", dir, len(entries), want)
		}
	}
}
