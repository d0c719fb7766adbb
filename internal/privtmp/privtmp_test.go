package privtmp

import (
	"fmt"
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

// TestCheckRefusesParentsOthersCanChange: a private directory is refused
// when a directory on the way to it is writable by the user's own group and
// not sticky, or owned by another user (even a sticky one, as a TMPDIR of
// theirs): its owner or the group could move the directory away and put
// theirs in its place. A symbolic link on the way is followed: the
// directories above its target, and the one that holds it, count too.
func TestCheckRefusesParentsOthersCanChange(t *testing.T) {
	root := os.Getuid() == 0
	for _, c := range []struct {
		name  string
		mode  os.FileMode
		owner int // -1: the user
		ok    bool
	}{
		{"writable by the user's group", os.ModeSetgid | 0o775, -1, false},
		{"the user's, sticky", os.ModeSticky | 0o777, -1, true},
		{"the user's", 0o755, -1, true},
		{"another user's, sticky", os.ModeSticky | 0o777, 65534, false},
		{"another user's", 0o755, 65534, false},
	} {
		if c.owner >= 0 && !root {
			continue
		}
		parent := filepath.Join(t.TempDir(), "parent")
		if err := os.Mkdir(parent, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(parent, -1, os.Getgid()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(parent, c.mode); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(parent, "gofil")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if c.owner >= 0 {
			if err := os.Chown(parent, c.owner, -1); err != nil {
				t.Fatal(err)
			}
		}
		err := Check(dir)
		if (err == nil) != c.ok {
			t.Errorf("in a directory %s: %v, want ok=%v", c.name, err, c.ok)
		}

		// The same directory through a link that stands in a private
		// directory, and the private directory through a link that
		// stands in this one.
		private := t.TempDir()
		link := filepath.Join(private, "link")
		if err := os.Symlink(parent, link); err != nil {
			t.Fatal(err)
		}
		if err := Check(filepath.Join(link, "gofil")); (err == nil) != c.ok {
			t.Errorf("through a link to a directory %s: %v, want ok=%v", c.name, err, c.ok)
		}
		if err := os.Mkdir(filepath.Join(private, "gofil"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(private, filepath.Join(parent, "link")); err != nil {
			t.Fatal(err)
		}
		if err := Check(filepath.Join(parent, "link", "gofil")); (err == nil) != c.ok {
			t.Errorf("through a link in a directory %s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// TestCacheDirFallsBackFromAnUnusableHome: with a home where no private
// cache can be made (not a directory, in a directory others can write, or
// read-only), the cache is the user's own directory in TMPDIR, as without
// a home.
func TestCacheDirFallsBackFromAnUnusableHome(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_CACHE_HOME", "")
	want := filepath.Join(tmp, fmt.Sprintf("gofil-%d", os.Getuid()))

	file := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	homes := map[string]string{"not a directory": file, "in a directory anyone can write": filepath.Join(open, "home")}
	if os.Getuid() != 0 { // root writes a read-only directory all the same
		readOnly := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(readOnly, 0o500); err != nil {
			t.Fatal(err)
		}
		homes["read-only"] = readOnly
	}
	for name, home := range homes {
		os.MkdirAll(home, 0o700)
		t.Setenv("HOME", home)
		dir, err := CacheDir()
		if err != nil || dir != want {
			t.Errorf("with a home %s: %q, %v; want %s", name, dir, err, want)
		}
	}
}
