package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPty opens a pseudo-terminal: the side a program writes to, and the
// side that reads what it wrote.
func openPty(t *testing.T) (tty, reader *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	return tty, ptmx
}

// TestWatchRewritesItsLineOnATerminal: with stderr a terminal, behind the
// writer that escapes names, gofil watch rewrites its status line in place
// (a carriage return, the line, and the sequence that clears the rest of
// it), not one line per snapshot with those bytes escaped.
func TestWatchRewritesItsLineOnATerminal(t *testing.T) {
	hs := heapServer(t)
	tty, reader := openPty(t)
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(reader) // ends with EIO once the terminal is closed
		read <- b
	}()
	var stdout bytes.Buffer
	code := Run(context.Background(), []string{"watch", "--interval", "50ms", "--duration", "500ms", "-o", filepath.Join(t.TempDir(), "w"), hs.URL}, nil, &stdout, tty)
	tty.Close()
	out := string(<-read)
	if code != 0 {
		t.Fatalf("gofil watch: exit code %d\n%s", code, out)
	}
	if !strings.Contains(out, "\rgofil watch: 1 snapshot") || !strings.Contains(out, "\x1b[K\rgofil watch: 2 snapshots") {
		t.Errorf("the status line is not rewritten in place:\n%q", out)
	}
	if strings.Contains(out, `\x1b`) || strings.Contains(out, `\x0d`) {
		t.Errorf("the status line's own control characters were escaped:\n%q", out)
	}
}
