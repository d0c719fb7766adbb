package build

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gofil/gofil"
)

// TestAgentModulePath: the agent as gofil writes it names its packages by
// gofil.AgentModule only, the module path it knows itself by
// (raw.AgentModule) included, so that it never resolves to gofil's own
// module that a program may use; each file keeps its lines, and is
// otherwise the source gofil embeds.
func TestAgentModulePath(t *testing.T) {
	dir, err := writeAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = fs.WalkDir(gofil.AgentSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := gofil.AgentSource.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		n++
		if bytes.Count(got, []byte("\n")) != bytes.Count(src, []byte("\n")) {
			t.Errorf("%s: %d lines, want the source's %d", p, bytes.Count(got, []byte("\n")), bytes.Count(src, []byte("\n")))
		}
		back := strings.ReplaceAll(string(got), strconv.Quote(gofil.AgentModule), strconv.Quote(gofil.SourceModule))
		back = strings.ReplaceAll(back, `"`+gofil.AgentModule+`/`, `"`+gofil.SourceModule+`/`)
		if back != string(src) {
			t.Errorf("%s differs from its source beyond the module path", p)
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, got, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.Contains(lit.Value, gofil.SourceModule) {
				t.Errorf("%s: %s still names gofil's module", p, lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the agent has no Go files")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "internal", "raw", "raw.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "const AgentModule = " + strconv.Quote(gofil.AgentModule) + "\n"; !strings.Contains(string(raw), want) {
		t.Errorf("the agent's internal/raw does not say %q", want)
	}
}
