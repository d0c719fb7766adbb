package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInheritedDescriptor: a descriptor gofil was started with reaches the
// program at the same number, as without gofil: `gofil run ... 3<FILE`
// reads FILE on descriptor 3.
func TestInheritedDescriptor(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("the data on fd 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(gofilBin, "run", "-o", filepath.Join(t.TempDir(), "report"), ".", "--", "read3")
	cmd.Dir = testdata(t, "fds")
	cmd.ExtraFiles = []*os.File{f}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || string(out) != "fd 3: the data on fd 3\n" {
		t.Errorf("gofil: %v; the program printed %q, want the file's line\n%s", err, out, stderr.String())
	}
}

// TestSocketActivation: gofil started as socket activation starts a
// server, with a listening socket on descriptor 3, LISTEN_FDS=1 and
// LISTEN_PID its own pid (systemd-socket-activate sets it after the fork,
// as the shell's exec does here), passes the socket on at descriptor 3
// and LISTEN_PID names the program: the program answers on the socket.
func TestSocketActivation(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`,
		gofilBin, "run", "-o", filepath.Join(t.TempDir(), "report"), ".", "--", "listen")
	cmd.Dir = testdata(t, "fds")
	cmd.ExtraFiles = []*os.File{lf}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	// The connection waits in the socket's backlog until the program,
	// built and started, accepts it.
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	answer, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if answer != "hello\n" {
		t.Errorf("the program answered %q, want \"hello\"", answer)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("gofil: %v\n%s%s", err, stdout.String(), stderr.String())
	}
}

// TestProgramReusesTrackerDescriptors: a program that closes descriptor 10
// (where gofil's pipe to the tracker used to be), or every descriptor
// above 2, and puts a file of its own at those numbers, finds in it only
// what it wrote, while the tracker has things to write and to say (its
// run directory renamed away for a while). The run still ends with a
// report; what the tracker had to say reaches gofil's stderr when its
// pipe is still open.
func TestProgramReusesTrackerDescriptors(t *testing.T) {
	for _, mode := range []string{"close10", "closeall"} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			file := filepath.Join(t.TempDir(), "mine.txt")
			r := gofil(t, testdata(t, "fds"), "run", "-o", out, ".", "--", mode, filepath.Join(out, "raw"), file)
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if want := "the program's first line\nthe program's last line\n"; string(got) != want {
				t.Errorf("the program's file holds\n%s\nwant only its own two lines\nstderr:\n%s", got, r.stderr)
			}
			if r.summary == nil || r.summary.Peak == nil {
				t.Errorf("no report with a peak\n%s", r.stderr)
			}
			if said := strings.Contains(r.stderr, "gofil run: the tracker: write peak"); mode == "close10" && !said {
				t.Errorf("the tracker's failure to write its peak did not reach gofil's stderr\n%s", r.stderr)
			}
		})
	}
}
