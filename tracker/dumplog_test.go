package tracker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gofil/gofil/internal/raw"
)

// TestDumpLogNotFollowed: a symlink planted where the dump log goes is
// neither followed nor written through; a log the tracker makes itself is
// private and holds its line.
func TestDumpLogNotFollowed(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, raw.DumpLogFile)); err != nil {
		t.Fatal(err)
	}
	(&tracker{dir: dir}).noteDump(1, 5, 0)
	if got, _ := os.ReadFile(victim); string(got) != "keep\n" {
		t.Errorf("the dump log was written through a symlink: %q", got)
	}

	dir = t.TempDir()
	tr := &tracker{dir: dir}
	tr.noteDump(1, 5, 0)
	tr.dumpLog.Close()
	path := filepath.Join(dir, raw.DumpLogFile)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("dump log mode %v, want a regular file, 0600", fi.Mode())
	}
	if got, _ := os.ReadFile(path); string(got) != raw.DumpLogHead+"1\t5\t0\n" {
		t.Errorf("dump log holds %q", got)
	}
}
