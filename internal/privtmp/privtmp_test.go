package privtmp

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckRefusesAMovableDirectory: a private directory in a directory
// others can write, not sticky, is refused: another user could rename it
// away and put theirs in its place. In a sticky one (as /tmp) it is taken.
func TestCheckRefusesAMovableDirectory(t *testing.T) {
	for _, c := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o777, false}, {os.ModeSticky | 0o777, true}, {0o755, true}} {
		parent := filepath.Join(t.TempDir(), "parent")
		if err := os.Mkdir(parent, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(parent, c.mode); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(parent, "gofil")
		err := MakePrivate(dir)
		if (err == nil) != c.ok {
			t.Errorf("in a %v directory: %v, want ok=%v", c.mode, err, c.ok)
		}
	}
}
