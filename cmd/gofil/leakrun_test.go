package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/rundir"
)

// TestRunLeakSuspects runs testdata/leakserver under gofil run, drives a
// bounded load on loopback in three phases (churn only; churn and exactly
// 300 leaking requests; churn only), stops it with SIGTERM and checks that
// the report names the leaking site first with the leak's size, and not the
// churning one.
func TestRunLeakSuspects(t *testing.T) {
	const leaks = 300
	out := filepath.Join(t.TempDir(), "report")
	cmd, addr, stderr := runLeakServer(t, out)

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	churnFor := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			get("/churn")
			time.Sleep(20 * time.Millisecond)
		}
	}
	churnFor(1500 * time.Millisecond)
	for i := 0; i < leaks; i++ {
		get("/leak")
		if i%2 == 0 {
			get("/churn")
		}
		time.Sleep(15 * time.Millisecond)
	}
	churnFor(2500 * time.Millisecond)

	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+15 {
		t.Fatalf("gofil: %v, want exit code 143\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "leak suspects") {
		t.Errorf("stderr lists no leak suspects:\n%s", stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, rundir.LeaksFile))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var s leak.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Suspects) == 0 {
		t.Fatalf("no suspects in leaks.json over %d snapshots\n%s", s.Snapshots, stderr.String())
	}
	top := s.Suspects[0]
	want := int64(leaks * 64 << 10)
	t.Logf("%d snapshots over %.1fs; first suspect %s grew %d bytes (truth %d, %+.1f%%), R² %.2f",
		s.Snapshots, s.DurationSeconds, top.Function, top.GrowthBytes, want, 100*float64(top.GrowthBytes-want)/float64(want), top.R2)
	if top.Function != "main.rememberRequest" {
		t.Errorf("first suspect %s, want main.rememberRequest", top.Function)
	}
	if !within(top.GrowthBytes, want, 0.10) {
		t.Errorf("main.rememberRequest grew %d bytes, want %d ±10%%", top.GrowthBytes, want)
	}
	for _, sus := range s.Suspects {
		if sus.Function == "main.processBatch" {
			t.Errorf("the churning main.processBatch is a suspect: %+v", sus)
		}
	}
}

// TestBatchJobNoLeakList: a batch job that grows until it ends on its own
// (testdata/growjob keeps every record it reads) gets one line pointing to
// leaks.json, not a list of "leak suspects": its growth is its data.
func TestBatchJobNoLeakList(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, testdata(t, "growjob"), "run", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "leak suspects") {
		t.Errorf("a batch job's stderr lists leak suspects:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "kept growing until the program ended (its data, or leaks): "+filepath.Join(out, rundir.LeaksFile)) {
		t.Errorf("stderr does not point to leaks.json:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, rundir.LeaksFile)); err != nil {
		t.Errorf("no leaks.json: %v", err)
	}
}

// TestIdleServerStopped: a server that does not link os/signal, stopped by
// SIGTERM while idle before its first GC, still leaves a heap: the tracker
// accounted it while the server waited for requests.
func TestIdleServerStopped(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	cmd, addr, stderr := runLeakServer(t, out)
	for i := 0; i < 20; i++ {
		if resp, err := http.Get("http://" + addr + "/leak"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	time.Sleep(1500 * time.Millisecond) // idle
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+15 {
		t.Fatalf("gofil: %v, want exit code 143\n%s", err, stderr.String())
	}
	s := readSummary(t, out)
	if s == nil || s.Peak == nil || s.Peak.HeapBytes == 0 {
		t.Fatalf("no heap in the report of an idle server stopped by SIGTERM: %+v\n%s", s, stderr.String())
	}
	t.Logf("peak: %s at %.2fs, moment %s", units.Bytes(s.Peak.HeapBytes), s.Peak.AtSeconds, s.Peak.Moment)
}

// runLeakServer starts testdata/leakserver under gofil run, reporting
// into out, on a free loopback port, and returns gofil's process, the
// server's address and gofil's stderr once the server listens.
func runLeakServer(t *testing.T, out string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd, stdout, stderr := startGofil(t, testdata(t, "leakserver"), "run", "-o", out, ".", "--", "-addr", "127.0.0.1:0")
	sc := bufio.NewScanner(stdout)
	addr := ""
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		cmd.Wait()
		t.Fatalf("the server did not start\n%s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return cmd, addr, stderr
}
