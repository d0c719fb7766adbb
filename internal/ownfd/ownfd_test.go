//go:build linux

package ownfd

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestNumberTakenOver: a File lives at a high number; when the program
// closes that number and opens a file of its own there, the File writes
// nothing into it and does not close it, but opens its own path again
// (the same file) and goes on there.
func TestNumberTakenOver(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.tsv")
	f, err := Open(ours, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := f.Fd()
	if fd < highBase() {
		t.Errorf("the File is at %d, below %d", fd, highBase())
	}
	if flags, _, _ := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0); flags&syscall.FD_CLOEXEC == 0 {
		t.Errorf("descriptor %d is not close-on-exec", fd)
	}
	f.WriteString("one\n")

	// The program closes the number and puts its file there.
	theirs := filepath.Join(dir, "theirs.txt")
	tf, err := os.Create(theirs)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	syscall.Close(fd)
	if err := syscall.Dup2(int(tf.Fd()), fd); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if _, err := f.WriteString("two\n"); err != nil {
		t.Fatalf("writing after the number was taken: %v (the path can be opened again)", err)
	}
	if f.Fd() == fd {
		t.Errorf("the File still uses %d, the program's now", fd)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		t.Errorf("the program's descriptor %d was closed: %v", fd, err)
	}
	if got, _ := os.ReadFile(theirs); len(got) != 0 {
		t.Errorf("the program's file holds %q", got)
	}
	if got, _ := os.ReadFile(ours); string(got) != "one\ntwo\n" {
		t.Errorf("the File's own file holds %q, want both lines", got)
	}
}

// TestReplacedFileNotWritten: a path that now names another file is not
// opened again to be written: the File is lost.
func TestReplacedFileNotWritten(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.tsv")
	f, err := Open(ours, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syscall.Close(f.Fd())
	// Renamed, not removed: a new file could be given the freed inode.
	os.Rename(ours, ours+".old")
	os.WriteFile(ours, []byte("another\n"), 0o600)
	if _, err := f.WriteString("x\n"); err == nil {
		t.Error("wrote to a file that replaced the File's")
	}
	if got, _ := os.ReadFile(ours); string(got) != "another\n" {
		t.Errorf("the other file holds %q", got)
	}
}

// TestTake: a taken descriptor moves high and its number is free again.
func TestTake(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	low, err := syscall.Dup(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	f, err := Take(low)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if syscall.Fstat(low, &st) == nil {
		t.Errorf("descriptor %d is still open", low)
	}
	if _, err := f.WriteString("hi\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, _ := r.Read(buf)
	if string(buf[:n]) != "hi\n" {
		t.Errorf("read %q", buf[:n])
	}
}
