package build

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gofil/gofil"
)

// FuzzAddMainDone injects the tracker into a main file of the fuzzer's:
// the result is the file with two insertions and nothing else, the
// tracker's import after the package clause and a deferred MainDone first
// thing in main, each on a line already there (neither holds a newline, so
// every position the program reports stays its own); it is made whenever
// the file parses with a func main (with a body), and it parses; a file
// without one is left as it is.
func FuzzAddMainDone(f *testing.F) {
	for _, src := range []string{
		"package main\n\nfunc main() {}\n",
		"package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n",
		"// Command x.\npackage main // the main package\n\nimport (\n\t\"os\"\n)\n\nfunc init() {}\n\nfunc (t T) main() {}\n\ntype T int\n\nfunc main() { os.Exit(3) }\n",
		"//go:build linux\n\npackage main\n\n/*\n#include <stdlib.h>\n*/\nimport \"C\"\n\nfunc main() {\n\tC.free(nil)\n}\n",
		"\ufeffpackage main\r\n\r\nfunc main() {\r\n}\r\n",
		"package main\n//line other.go:100\nfunc main() {\n\tdefer func() {}()\n}\n",
		"package main; func main() { go func() {}() }",
		"package main\n\nfunc main[T any]() {}\n",
		"package notmain\n\nfunc main() {}\n",
		"package main\n\nfunc main()\n",
	} {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o600); err != nil {
			t.Fatal(err)
		}
		path, out, err := addMainDone(&listed{Dir: dir, GoFiles: []string{"main.go"}})
		parsed, perr := parser.ParseFile(token.NewFileSet(), "main.go", src, parser.SkipObjectResolution)
		if err != nil || path == "" {
			// Not injected: the package is built as it is, for the
			// compiler to say what is wrong with it.
			if perr == nil && hasMain(parsed) {
				t.Fatalf("a file that parses with a func main was not injected: %v", err)
			}
			return
		}
		if path != filepath.Join(dir, "main.go") {
			t.Fatalf("injected into %s", path)
		}
		if perr != nil {
			t.Fatalf("a file that does not parse was injected: %v", perr)
		}
		imp := "; import " + gofil.AgentName + " " + strconv.Quote(gofil.AgentPackage)
		call := " defer " + gofil.AgentName + ".MainDone();"
		i := bytes.Index(out, []byte(imp))
		j := bytes.Index(out, []byte(call))
		if i < 0 || j < i+len(imp) {
			t.Fatalf("the import or the call is missing or out of order:\n%s", out)
		}
		back := append(append(append([]byte{}, out[:i]...), out[i+len(imp):j]...), out[j+len(call):]...)
		if !bytes.Equal(back, src) {
			t.Fatalf("the file changed beyond the two insertions:\n%q\n%q", src, back)
		}
		fset := token.NewFileSet()
		g, err := parser.ParseFile(fset, "main.go", out, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("the injected file does not parse: %v\n%s", err, out)
		}
		var found bool
		for _, spec := range g.Imports {
			found = found || spec.Name != nil && spec.Name.Name == gofil.AgentName && spec.Path.Value == strconv.Quote(gofil.AgentPackage)
		}
		if !found {
			t.Fatalf("the injected file does not import the tracker:\n%s", out)
		}
		main := mainOf(g)
		if main == nil || len(main.Body.List) == 0 {
			t.Fatalf("the injected file has no func main with a body:\n%s", out)
		}
		d, ok := main.Body.List[0].(*ast.DeferStmt)
		if !ok {
			t.Fatalf("main's first statement is not the deferred MainDone:\n%s", out)
		}
		sel, ok := d.Call.Fun.(*ast.SelectorExpr)
		if x, isIdent := sel.X.(*ast.Ident); !ok || !isIdent || x.Name != gofil.AgentName || sel.Sel.Name != "MainDone" {
			t.Fatalf("main's first statement defers something else:\n%s", out)
		}
	})
}

// hasMain reports whether f declares a func main with a body.
func hasMain(f *ast.File) bool { return mainOf(f) != nil }

func mainOf(f *ast.File) *ast.FuncDecl {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" && fn.Body != nil {
			return fn
		}
	}
	return nil
}
