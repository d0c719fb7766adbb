package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/report/rundir"
)

// startLateExit starts gofil run on testdata/lateexit with args for the
// program, and returns it with a scanner of the program's stdout.
func startLateExit(t *testing.T, out string, args ...string) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(gofilBin, append([]string{"run", "-o", out, ".", "--"}, args...)...)
	cmd.Dir = testdata(t, "lateexit")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	t.Cleanup(func() { timer.Stop() })
	return cmd, bufio.NewScanner(stdout), &stderr
}

// exitStatus is how cmd ended: its exit code, or 128+signal.
func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatal(err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// TestSignalAfterEnd: one SIGTERM that reaches gofil after the program
// ended (exit code 5) while gofil writes the report does not end gofil: it
// says so, finishes the report and exits 5.
func TestSignalAfterEnd(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	cmd, sc, stderr := startLateExit(t, out)
	for sc.Scan() && sc.Text() != "bye" {
	}
	// The program has printed its last line: wait until gofil has
	// reaped it, and a little longer, into the report.
	deadline := time.Now().Add(10 * time.Second)
	for len(childPIDs(t, cmd.Process.Pid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
	}
	if code := exitStatus(t, cmd); code != 5 {
		t.Fatalf("gofil ended with %d, want the program's 5\n%s", code, stderr)
	}
	if s := readSummary(t, out); s == nil || s.Peak == nil || s.ExitCode != 5 {
		t.Errorf("no finished report with exit code 5: %+v\n%s", s, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, rundir.IncompleteFile)); err == nil {
		t.Errorf("the report is marked incomplete\n%s", stderr)
	}
	if n := strings.Count(stderr.String(), "SIGTERM: the program has ended"); n != 1 {
		t.Errorf("gofil said %d times that it got SIGTERM after the program ended, want once\n%s", n, stderr)
	}
}

// TestSignalStorm: SIGTERM sent to gofil every millisecond from the
// program's start until gofil ends is passed on to the program, which
// catches it and exits 5 after a second; after it ended, the first signal
// leaves the report to be finished and the second cuts it short, which
// gofil says in one line and marks in the report. gofil exits 5 either
// way.
func TestSignalStorm(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	cmd, sc, stderr := startLateExit(t, out, "storm")
	for sc.Scan() && sc.Text() != "ready" {
	}
	var stop atomic.Bool
	stormDone := make(chan struct{})
	go func() {
		defer close(stormDone)
		for !stop.Load() {
			cmd.Process.Signal(syscall.SIGTERM)
			time.Sleep(time.Millisecond)
		}
	}()
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	code := exitStatus(t, cmd)
	stop.Store(true)
	<-stormDone
	if code != 5 {
		t.Fatalf("gofil ended with %d, want the program's 5; the program printed %q\n%s", code, lines, stderr)
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "done ") || lines[0] == "done 0" {
		t.Errorf("the program printed %q, want \"done N\" with the signals it was passed", lines)
	}
	msg := stderr.String()
	cut := strings.Count(msg, "the report was cut short")
	_, incomplete := os.Stat(filepath.Join(out, rundir.IncompleteFile))
	t.Logf("the program printed %q; the report was cut short: %v", lines, cut == 1)
	switch {
	case cut > 1:
		t.Errorf("gofil said %d times that the report was cut short\n%s", cut, msg)
	case cut == 1 && incomplete != nil:
		t.Errorf("the report was cut short but is not marked so\n%s", msg)
	case cut == 0 && readSummary(t, out) == nil:
		t.Errorf("no report, and gofil did not say it was cut short\n%s", msg)
	}
	if _, err := os.Stat(filepath.Join(out, rundir.RawDir, rundir.MetaFile)); err != nil {
		t.Errorf("raw/ lacks what gofil knew of the program: %v", err)
	}
}
