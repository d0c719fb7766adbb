package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofil/gofil"
)

// TestAddTrackerImport: the import goes on the package line of the first
// file that declares something the test main calls, by go test's rule for
// names, and the file's lines stay where they were.
func TestAddTrackerImport(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a_test.go": "package p\n\nfunc helper() {}\nfunc Testify() {}\n", // Testify: not a test
		"b_test.go": "package p_test\n\nimport \"testing\"\n\nfunc TestÜber(t *testing.T) {}\n",
		"c_test.go": "package p\n\nfunc TestMain() {}\n",
	}
	var paths []string
	for _, name := range []string{"a_test.go", "b_test.go", "c_test.go"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(files[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	file, src, err := addTrackerImport(paths)
	if err != nil {
		t.Fatal(err)
	}
	want := "package p_test; import _ \"" + gofil.AgentPackage + "\"\n\nimport \"testing\"\n\nfunc TestÜber(t *testing.T) {}\n"
	if filepath.Base(file) != "b_test.go" || string(src) != want {
		t.Errorf("got %s:\n%s\nwant b_test.go:\n%s", file, src, want)
	}
	if strings.Count(string(src), "\n") != strings.Count(files["b_test.go"], "\n") {
		t.Errorf("lines moved")
	}
	if file, src, _ := addTrackerImport(paths[:1]); file != "" || src != nil {
		t.Errorf("a file without a test got the import: %s", file)
	}
	for _, c := range []struct {
		name, prefix string
		want         bool
	}{{"Test", "Test", true}, {"Test_x", "Test", true}, {"TestÜber", "Test", true}, {"Testx", "Test", false}, {"Examplex", "Example", false}, {"Fuzz9", "Fuzz", true}} {
		if got := isTestName(c.name, c.prefix); got != c.want {
			t.Errorf("isTestName(%q, %q) = %v, want %v", c.name, c.prefix, got, c.want)
		}
	}
}
