package rundirs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunDirName(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 15, 0, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		program, host string
		want          string
	}{
		{"/srv/bin/job", "web-7f9c", "job-20261206T031500Z-web-7f9c-42"},
		{"./my job", "h/ost", "my_job-20261206T031500Z-h_ost-42"},
		{"..", "", "_..-20261206T031500Z-_-42"},
	}
	for _, c := range cases {
		if got := Name(c.program, at, c.host, 42); got != c.want {
			t.Errorf("Name(%q, %q) = %q, want %q", c.program, c.host, got, c.want)
		}
	}
}

// TestMakeRunDir: the directory and its missing parents are made 0700, a
// second process with the same name (an image that replaced another by
// exec, in the same second) gets a directory of its own, and a parent
// another user can write is refused with nothing made in it.
func TestMakeRunDir(t *testing.T) {
	out := filepath.Join(t.TempDir(), "a", "runs")
	at := time.Now()
	first, _, err := Make(out, "job", "h", at, 7)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := Make(out, "job", "h", at, 7)
	if err != nil {
		t.Fatal(err)
	}
	if first == second || !strings.HasPrefix(filepath.Base(second), filepath.Base(first)) {
		t.Errorf("two processes got %s and %s", first, second)
	}
	for _, p := range []string{first, second, out, filepath.Dir(out)} {
		st, err := os.Lstat(p)
		if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a directory, 0700", p, st.Mode(), err)
		}
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{open, filepath.Join(open, "runs")} {
		if d, _, err := Make(dir, "job", "h", at, 7); err == nil {
			t.Errorf("Make(%s) = %s, want it refused: others can write %s", dir, d, open)
		}
	}
	// A symbolic link in a directory others can write.
	link := filepath.Join(open, "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if d, _, err := Make(link, "job", "h", at, 7); err == nil {
		t.Errorf("Make(%s) = %s, want it refused: a link in a directory others can write", link, d)
	}
}
