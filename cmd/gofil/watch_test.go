package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/heapprof"
	"github.com/gofil/gofil/leak"
)

// leakServer is a running testdata/leakserver.
type leakServer struct {
	addr string
	cmd  *exec.Cmd
}

// startLeakServer builds and starts testdata/leakserver on a loopback port;
// it is killed when the test ends.
func startLeakServer(t *testing.T) *leakServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "leakserver")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = testdata(t, "leakserver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build leakserver: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		addr, ok := strings.CutPrefix(l, "listening on ")
		if !ok {
			t.Fatalf("leakserver said %q, want \"listening on ADDR\"", l)
		}
		return &leakServer{addr: addr, cmd: cmd}
	case <-time.After(10 * time.Second):
		t.Fatal("leakserver did not say where it listens within 10s")
	}
	return nil
}

// serverCounts is leakserver's GET /count: requests served, and the
// /leak requests and the bytes the leak held when each heap profile was
// taken.
type serverCounts struct {
	Leak         int     `json:"leak"`
	LeakBytes    int64   `json:"leak_bytes"`
	Churn        int     `json:"churn"`
	Profiles     []int   `json:"profiles"`
	ProfileBytes []int64 `json:"profile_bytes"`
}

func (s *leakServer) counts(t *testing.T) serverCounts {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + s.addr + "/count")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c serverCounts
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatalf("GET /count: %v", err)
	}
	return c
}

// driveLeakServer sends leaks requests to /leak and churns to /churn, interleaved
// and spread evenly over spread, from four connections. It gives up at
// the deadline, whatever is left, and returns the first error.
func driveLeakServer(addr string, leaks, churns int, spread, deadline time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	jobs := make(chan string)
	go func() {
		defer close(jobs)
		total := leaks + churns
		start := time.Now()
		for k, l, c := 0, 0, 0; k < total; k++ {
			path := "/churn"
			if l*churns <= c*leaks && l < leaks || c == churns {
				path, l = "/leak", l+1
			} else {
				c++
			}
			at := start.Add(time.Duration(k) * spread / time.Duration(total))
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			select {
			case <-ctx.Done():
				return
			case jobs <- path:
			}
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range jobs {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET %s: %s", path, resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("the load did not finish within %v", deadline)
	}
	return firstErr
}

func readLeaks(t *testing.T, dir string) *leak.Summary {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "leaks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s leak.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("leaks.json: %v", err)
	}
	return &s
}

// stderrLines splits stderr into its lines; a terminal's carriage returns
// do not occur, as stderr is a pipe.
func stderrLines(stderr string) []string {
	return strings.Split(strings.TrimRight(stderr, "\n"), "\n")
}

// TestWatchLeakServer watches testdata/leakserver under a bounded load of
// 400 leaking and 400 churning requests over about 4 seconds: the leaking
// site must rank first, with its growth within ±10% of the truth, and the
// churning site must not be a suspect. The leak keeps buffers of many
// sizes from one line, so its stack comes as many samples, one per size,
// which must all count. The truth is exact: the server records, under the
// same lock as the leak, the bytes the allocator gave the leak when each
// heap profile it served was taken.
func TestWatchLeakServer(t *testing.T) {
	srv := startLeakServer(t)
	out := filepath.Join(t.TempDir(), "watch")
	loadErr := make(chan error, 1)
	go func() { loadErr <- driveLeakServer(srv.addr, 400, 400, 4*time.Second, 15*time.Second) }()
	r := gofil(t, t.TempDir(), "watch", "http://"+srv.addr, "--interval", "250ms", "--duration", "5s",
		"--pid", fmt.Sprint(srv.cmd.Process.Pid), "-o", out)
	if err := <-loadErr; err != nil {
		t.Fatalf("load: %v", err)
	}
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	lines := stderrLines(r.stderr)
	if last := lines[len(lines)-1]; last != "gofil watch: report: "+out {
		t.Errorf("last stderr line %q, want the report's directory", last)
	}
	// leakserver sets runtime.MemProfileRate = 4096: no advice to sample
	// more often.
	const sampling = "gofil watch: the server samples one allocation per 4.0 KiB on average (runtime.MemProfileRate = 4096); " +
		"a site growing by less than about 36.0 KiB in small objects cannot be told from noise (3 sigma)"
	if lines[0] != sampling || !strings.HasPrefix(lines[1], "gofil watch: 1 snapshot, ") {
		t.Errorf("stderr starts %q, want the sampling rate and then the first snapshot:\n%s", lines[:2], sampling)
	}

	s := readLeaks(t, out)
	c := srv.counts(t)
	if s.Snapshots < 10 || len(c.Profiles) != s.Snapshots || len(c.ProfileBytes) != s.Snapshots {
		t.Fatalf("%d snapshots in leaks.json, %d profiles served: want the same, at least 10\n%s", s.Snapshots, len(c.Profiles), r.stderr)
	}
	if s.MemProfileRate != 4096 || s.ResolvableGrowthBytes != 9*4096 || s.Verdict != leak.VerdictSuspects {
		t.Errorf("leaks.json: mem_profile_rate %d, resolvable_growth_bytes %d, verdict %q; want 4096, %d, %q",
			s.MemProfileRate, s.ResolvableGrowthBytes, s.Verdict, 9*4096, leak.VerdictSuspects)
	}
	n := len(c.Profiles)
	leaks := c.Profiles[n-1] - c.Profiles[0]
	truth := c.ProfileBytes[n-1] - c.ProfileBytes[0]
	if leaks < 100 {
		t.Fatalf("only %d leaks between the first and the last snapshot: the load missed the window", leaks)
	}
	if len(s.Suspects) == 0 {
		t.Fatalf("no suspects\n%s", r.stderr)
	}
	top := s.Suspects[0]
	if top.Function != "main.rememberRequest" {
		t.Errorf("first suspect %s, want main.rememberRequest\n%s", top.Function, r.stderr)
	}
	if !within(top.GrowthBytes, truth, 0.10) {
		t.Errorf("main.rememberRequest grew %d bytes, want %d ±10%% (%d leaks)", top.GrowthBytes, truth, leaks)
	}
	t.Logf("main.rememberRequest: growth %d, truth %d (%d leaks, %+.2f%%), %.0f B/s, R² %.3f, steadiness %.2f",
		top.GrowthBytes, truth, leaks, 100*float64(top.GrowthBytes-truth)/float64(truth), top.BytesPerSecond, top.R2, top.Steadiness)
	for _, site := range s.Suspects {
		if site.Function == "main.processBatch" {
			t.Errorf("the churning main.processBatch is a suspect: %+v", site)
		}
	}
	churned := false
	for _, site := range s.Churn {
		churned = churned || site.Function == "main.processBatch"
	}
	if !churned {
		t.Errorf("main.processBatch is not listed as churn: %+v", s.Churn)
	}
	if len(s.RSS) != s.Snapshots || s.RSS[len(s.RSS)-1].RSSBytes < uint64(truth) {
		t.Errorf("RSS %+v: want one reading per snapshot, the last above the leak's %d bytes", s.RSS, truth)
	}

	snaps, _ := filepath.Glob(filepath.Join(out, "snapshots", "*.pb.gz"))
	if len(snaps) != s.Snapshots {
		t.Fatalf("%d files in snapshots/, want %d", len(snaps), s.Snapshots)
	}
	if sizes := leakSizes(t, readPprofFile(t, snaps[len(snaps)-1]), top.Line); sizes < 10 {
		t.Errorf("the last snapshot has samples of %d sizes at main.rememberRequest, want one per size, at least 10", sizes)
	}
	g := readPprofFile(t, filepath.Join(out, "growth.pb.gz"))
	var grown int64
	for _, sample := range g.Sample {
		for _, loc := range sample.Location {
			if ln := loc.Line[0]; ln.Function.Name == top.Function && ln.Line == int64(top.Line) {
				grown += sample.Value[1]
				break
			}
		}
	}
	if grown != top.GrowthBytes {
		t.Errorf("growth.pb.gz holds %d bytes at %s:%d, leaks.json says %d", grown, top.Function, top.Line, top.GrowthBytes)
	}
	html, err := os.ReadFile(filepath.Join(out, "leaks.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"main.rememberRequest", `<svg class="chart"`, `id="growth"`, "resident memory", "The server samples one allocation per 4.0 KiB"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("leaks.html does not contain %q", want)
		}
	}

	// gofil diff of the first and last snapshots finds the same growth.
	svg := filepath.Join(t.TempDir(), "d.svg")
	d := gofil(t, t.TempDir(), "diff", "-o", svg, snaps[0], snaps[len(snaps)-1])
	if d.code != 0 {
		t.Fatalf("gofil diff: exit code %d\n%s", d.code, d.stderr)
	}
	if !strings.Contains(d.stdout, "main.rememberRequest") {
		t.Errorf("gofil diff's stdout does not name main.rememberRequest:\n%s", d.stdout)
	}
}

// leakSizes counts the allocation sizes of the samples of p allocated at
// main.rememberRequest's line, checking that they all have the same stack
// outside the runtime (whose allocator takes another path for a large
// object): the runtime's one record per stack and allocation size.
func leakSizes(t *testing.T, p *profile.Profile, line int) int {
	t.Helper()
	stack := ""
	sizes := map[int64]bool{}
	for _, s := range p.Sample {
		var frames []string
		for _, f := range heapprof.Frames(s) {
			if !strings.HasPrefix(f.Func, "runtime.") {
				frames = append(frames, fmt.Sprintf("%s:%d", f.Func, f.Line))
			}
		}
		if len(frames) == 0 || frames[len(frames)-1] != fmt.Sprintf("main.rememberRequest:%d", line) {
			continue
		}
		if k := strings.Join(frames, " "); stack == "" {
			stack = k
		} else if k != stack {
			t.Errorf("main.rememberRequest has two stacks, %s and %s: want one line leaking many sizes", stack, k)
		}
		if b := s.NumLabel["bytes"]; len(b) == 1 {
			sizes[b[0]] = true
		}
	}
	return len(sizes)
}

// TestWatchTooShort watches a server, started by the test on 127.0.0.1
// with net/http/pprof's heap handler and Go's default sampling rate, for
// one and for two intervals, and interrupts a watch after its first
// snapshot: each is too short to judge, and says so on stderr (with the
// sampling rate and how to raise it) and in leaks.json, which is written
// with the rest of the report.
func TestWatchTooShort(t *testing.T) {
	if runtime.MemProfileRate != leak.DefaultMemProfileRate {
		t.Fatalf("runtime.MemProfileRate is %d, want the default %d", runtime.MemProfileRate, leak.DefaultMemProfileRate)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/pprof/heap", pprof.Handler("heap"))
	hs := httptest.NewServer(mux) // listens on 127.0.0.1
	defer hs.Close()
	wantStart := []string{
		"gofil watch: the server samples one allocation per 512.0 KiB on average (runtime.MemProfileRate = 524288); " +
			"a site growing by less than about 4.5 MiB in small objects cannot be told from noise (3 sigma)",
		"gofil watch: to sample more often, set runtime.MemProfileRate = 64 << 10 as the first statement of the server's main: " +
			"growth of about 576.0 KiB then stands out",
	}
	check := func(t *testing.T, r result, out, interval string) {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("exit code %d\n%s", r.code, r.stderr)
		}
		s := readLeaks(t, out)
		lines := stderrLines(r.stderr)
		if len(lines) < 2 || lines[0] != wantStart[0] || lines[1] != wantStart[1] {
			t.Errorf("stderr starts:\n%s\nwant:\n%s", strings.Join(lines[:min(2, len(lines))], "\n"), strings.Join(wantStart, "\n"))
		}
		count := fmt.Sprintf("%d snapshots", s.Snapshots)
		if s.Snapshots == 1 {
			count = "1 snapshot"
		}
		d, _ := time.ParseDuration(interval)
		note := count + ", and a suspect needs at least 5; watch with --duration " + (4 * d).String() +
			" or more at --interval " + d.String() + " (longer for a slow leak)"
		if !slices.Contains(lines, "gofil watch: too short to judge leaks: "+note) {
			t.Errorf("stderr has no line %q:\n%s", "gofil watch: too short to judge leaks: "+note, r.stderr)
		}
		if last := lines[len(lines)-1]; last != "gofil watch: report: "+out {
			t.Errorf("last stderr line %q, want the report's directory", last)
		}
		if s.Verdict != "too short to judge" || s.Note != note || s.MinSnapshots != 5 || len(s.Suspects) != 0 {
			t.Errorf("leaks.json: verdict %q, note %q, min_snapshots %d, %d suspects; want %q, %q, 5, none",
				s.Verdict, s.Note, s.MinSnapshots, len(s.Suspects), "too short to judge", note)
		}
		if s.MemProfileRate != 512<<10 || s.ResolvableGrowthBytes != 9*512<<10 {
			t.Errorf("leaks.json: mem_profile_rate %d, resolvable_growth_bytes %d; want %d, %d", s.MemProfileRate, s.ResolvableGrowthBytes, 512<<10, 9*512<<10)
		}
		for _, f := range []string{"leaks.json", "growth.pb.gz", "leaks.html", "snapshots/0001.pb.gz"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("not written: %v", err)
			}
		}
		html, _ := os.ReadFile(filepath.Join(out, "leaks.html"))
		for _, want := range []string{`id="too-short"`, "Too short to judge: " + count, "The server samples one allocation per 512.0 KiB", "To sample more often"} {
			if !bytes.Contains(html, []byte(want)) {
				t.Errorf("leaks.html does not contain %q", want)
			}
		}
	}
	for _, c := range []struct {
		name, duration string
		most           int
	}{
		{"one interval", "500ms", 2},
		{"two intervals", "1s", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "watch")
			r := gofil(t, t.TempDir(), "watch", hs.URL, "--interval", "500ms", "--duration", c.duration, "-o", out)
			check(t, r, out, "500ms")
			if s := readLeaks(t, out); s.Snapshots < 2 || s.Snapshots > c.most {
				t.Errorf("%d snapshots in %s at --interval 500ms, want 2 to %d", s.Snapshots, c.duration, c.most)
			}
		})
	}
	t.Run("one snapshot", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "watch")
		cmd, stderr := startWatch(t, hs.URL, "--interval", "1m", "--duration", "0", "-o", out)
		waitForSnapshot(t, filepath.Join(out, "snapshots", "0001.pb.gz"))
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code := waitWatchExit(t, cmd)
		check(t, result{code: code, stderr: stderr.String()}, out, "1m")
		if s := readLeaks(t, out); s.Snapshots != 1 || s.Ended != "interrupted" {
			t.Errorf("leaks.json: %d snapshots, ended %q; want 1, interrupted", s.Snapshots, s.Ended)
		}
	})
}

// TestWatchErrors checks that an unreachable URL, an endpoint that is not
// pprof and a server that dies mid-watch each end the watch with one clear
// error line and a non-zero exit code, keeping what was gathered.
func TestWatchErrors(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		out := filepath.Join(t.TempDir(), "watch")
		r := gofil(t, t.TempDir(), "watch", "http://"+addr, "--interval", "100ms", "--duration", "1s", "-o", out)
		checkOneError(t, r, "gofil watch: cannot reach http://"+addr+"/debug/pprof/heap?gc=1: ", "connection refused")
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s was created with nothing to keep", out)
		}
	})
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!DOCTYPE html><html><body>Welcome</body></html>")
		}, "returned an HTML page, not a profile"},
		{"404", http.NotFound, "answered 404 Not Found"},
		{"cpu profile", func(w http.ResponseWriter, r *http.Request) {
			p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}}}
			p.Write(w)
		}, "not a heap profile"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := httptest.NewServer(c.handler)
			defer hs.Close()
			out := filepath.Join(t.TempDir(), "watch")
			r := gofil(t, t.TempDir(), "watch", hs.URL, "--interval", "100ms", "--duration", "1s", "-o", out)
			checkOneError(t, r, "gofil watch: "+hs.URL+"/debug/pprof/heap?gc=1 is not a pprof heap endpoint: ", c.want)
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created with nothing to keep", out)
			}
		})
	}
	t.Run("server dies", func(t *testing.T) {
		srv := startLeakServer(t)
		out := filepath.Join(t.TempDir(), "watch")
		cmd, stderr := startWatch(t, "http://"+srv.addr, "--interval", "200ms", "--duration", "30s", "-o", out)
		waitForSnapshot(t, filepath.Join(out, "snapshots", "0002.pb.gz"))
		srv.cmd.Process.Kill()
		code := waitWatchExit(t, cmd)
		r := result{code: code, stderr: stderr.String()}
		checkOneError(t, r, "gofil watch: the server stopped answering after ", "; kept the ")
		s := readLeaks(t, out)
		if s.Snapshots < 2 || s.Ended != "error" || !strings.Contains(s.Error, "stopped answering") {
			t.Errorf("leaks.json: %d snapshots, ended %q, error %q", s.Snapshots, s.Ended, s.Error)
		}
		for _, f := range []string{"leaks.json", "growth.pb.gz", "leaks.html", "snapshots/0001.pb.gz", "snapshots/0002.pb.gz"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("not kept: %v", err)
			}
		}
	})
}

// checkOneError checks that gofil failed and that exactly one line of its
// stderr, the last, is an error: it starts with prefix and holds want.
// The other lines are the watch's progress and summary.
func checkOneError(t *testing.T, r result, prefix, want string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("exit code 0, want non-zero\n%s", r.stderr)
	}
	lines := stderrLines(r.stderr)
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, prefix) || !strings.Contains(last, want) {
		t.Errorf("last stderr line %q, want one starting %q and containing %q", last, prefix, want)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "gofil watch: ") && !strings.HasPrefix(l, "  ") ||
			strings.Contains(l, "error") || strings.Contains(l, prefix[len("gofil watch: "):]) {
			t.Errorf("stderr line %q is neither progress nor summary", l)
		}
	}
}

// startWatch starts gofil watch in the background.
func startWatch(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(gofilBin, append([]string{"watch"}, args...)...)
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &stderr
}

func waitForSnapshot(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 15s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitWatchExit waits up to 15 seconds for cmd to end and returns its exit code.
func waitWatchExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("gofil watch did not end within 15s")
	}
	return -1
}

// TestWatchInterrupt checks that Ctrl-C ends a watch without a duration
// and writes the report.
func TestWatchInterrupt(t *testing.T) {
	srv := startLeakServer(t)
	out := filepath.Join(t.TempDir(), "watch")
	cmd, stderr := startWatch(t, srv.addr+"/debug/pprof/", "--interval", "100ms", "--duration", "0", "-o", out)
	waitForSnapshot(t, filepath.Join(out, "snapshots", "0003.pb.gz"))
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := waitWatchExit(t, cmd); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0\n%s", code, stderr)
	}
	s := readLeaks(t, out)
	if s.Ended != "interrupted" || s.Snapshots < 3 || s.URL != "http://"+srv.addr+"/debug/pprof/heap?gc=1" {
		t.Errorf("leaks.json: ended %q, %d snapshots, url %q", s.Ended, s.Snapshots, s.URL)
	}
	if _, err := os.Stat(filepath.Join(out, "leaks.html")); err != nil {
		t.Error(err)
	}
}

// synthHeapProfile is a pprof heap profile with one stack per function, each
// main.main → fn, holding the given bytes in 1 KiB objects.
func synthHeapProfile(held map[string]int64) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
	}
	mainFn := &profile.Function{ID: 1, Name: "main.main", Filename: "/app/main.go"}
	mainLoc := &profile.Location{ID: 1, Line: []profile.Line{{Function: mainFn, Line: 3}}}
	p.Function = append(p.Function, mainFn)
	p.Location = append(p.Location, mainLoc)
	for _, name := range []string{"main.grow", "main.shrink", "main.same", "main.<b>new</b>"} {
		b, ok := held[name]
		if !ok {
			continue
		}
		fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, Filename: "/app/main.go"}
		loc := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn, Line: int64(10 + len(p.Function))}}}
		p.Function = append(p.Function, fn)
		p.Location = append(p.Location, loc)
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc, mainLoc}, Value: []int64{b >> 10, b}})
	}
	return p
}

func writePprofFile(t *testing.T, path string, p *profile.Profile) {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPprofFile(t *testing.T, path string) *profile.Profile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.ParseData(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// TestDiff checks gofil diff on two profiles whose difference is known:
// growth in one flamegraph, shrinkage in the other, sites on stdout.
func TestDiff(t *testing.T) {
	dir := t.TempDir()
	base, next := filepath.Join(dir, "base.pb.gz"), filepath.Join(dir, "new.pb.gz")
	writePprofFile(t, base, synthHeapProfile(map[string]int64{"main.grow": 1 * mib, "main.shrink": 8 * mib, "main.same": 2 * mib}))
	writePprofFile(t, next, synthHeapProfile(map[string]int64{"main.grow": 5 * mib, "main.shrink": 2 * mib, "main.same": 2 * mib, "main.<b>new</b>": 1 * mib}))
	svg := filepath.Join(dir, "out.svg")
	r := gofil(t, dir, "diff", base, next, "-o", svg)
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	wantOut := []string{
		"gofil diff: in use 11.0 MiB -> 10.0 MiB (-1.0 MiB): stacks that grew +5.0 MiB, stacks that shrank -6.0 MiB",
		"gofil diff: allocation sites that grew most:",
		"     +4.0 MiB  main.grow  /app/main.go:11",
		"     +1.0 MiB  main.<b>new</b>  /app/main.go:14",
		"gofil diff: growth: " + svg + "; shrinkage: " + filepath.Join(dir, "out-shrink.svg"),
	}
	if got := strings.TrimRight(r.stdout, "\n"); got != strings.Join(wantOut, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, strings.Join(wantOut, "\n"))
	}
	grow, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	shrink, err := os.ReadFile(filepath.Join(dir, "out-shrink.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		svg        []byte
		has, lacks []string
	}{
		{grow, []string{"main.grow", "main.&lt;b&gt;new&lt;/b&gt;", "5.0 MiB"}, []string{"main.shrink", "main.same", "<b>"}},
		{shrink, []string{"main.shrink", "6.0 MiB"}, []string{"main.grow", "main.same"}},
	} {
		for _, s := range c.has {
			if !bytes.Contains(c.svg, []byte(s)) {
				t.Errorf("%.40s... does not contain %q", c.svg, s)
			}
		}
		for _, s := range c.lacks {
			if bytes.Contains(c.svg, []byte(s)) {
				t.Errorf("%.40s... contains %q", c.svg, s)
			}
		}
	}

	notProfile := filepath.Join(dir, "notes.txt")
	os.WriteFile(notProfile, []byte("hello\n"), 0o644)
	r = gofil(t, dir, "diff", notProfile, next)
	if lines := stderrLines(r.stderr); r.code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "gofil diff: "+notProfile+" is not a pprof profile") {
		t.Errorf("diff of a text file: exit code %d, stderr %q", r.code, r.stderr)
	}
}

// TestWatchKeepsPasswordSecret: a watch of a URL with a password, on a
// server that answers one snapshot and then fails, keeps the password out of stderr, leaks.json
// and leaks.html.
func TestWatchKeepsPasswordSecret(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	var served atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "me" || pass != secret {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		if served.Add(1) == 1 {
			pprof.Handler("heap").ServeHTTP(w, r)
			return
		}
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer hs.Close()
	u := strings.Replace(hs.URL, "http://", "http://me:"+secret+"@", 1) + "/debug/pprof/heap"
	out := filepath.Join(t.TempDir(), "watch")
	r := gofil(t, t.TempDir(), "watch", u, "--interval", "300ms", "--duration", "2s", "-o", out)
	if r.code == 0 {
		t.Fatalf("the watch of a server that failed exited 0\n%s", r.stderr)
	}
	if served.Load() < 2 {
		t.Fatalf("the server answered %d times, want a snapshot and a failure\n%s", served.Load(), r.stderr)
	}
	if strings.Contains(r.stderr, secret) {
		t.Errorf("stderr shows the password:\n%s", r.stderr)
	}
	for _, f := range []string{"leaks.json", "leaks.html"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s holds the password", f)
		}
	}
	if s := readLeaks(t, out); s.Error == "" {
		t.Errorf("leaks.json records no error")
	}
}

// TestWatchDurationBoundsFetch: a server that stops answering mid-watch
// (the connection open, no answer) does not hold the watch past
// --duration for the minute a fetch may take: the watch ends on time with
// the snapshots it has.
func TestWatchDurationBoundsFetch(t *testing.T) {
	var served atomic.Int32
	release := make(chan struct{})
	defer close(release)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) <= 2 {
			pprof.Handler("heap").ServeHTTP(w, r)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hs.Close()
	out := filepath.Join(t.TempDir(), "watch")
	begin := time.Now()
	r := gofil(t, t.TempDir(), "watch", hs.URL, "--interval", "300ms", "--duration", "1s", "-o", out)
	took := time.Since(begin)
	if r.code != 0 || took > 5*time.Second {
		t.Errorf("exit code %d after %v, want 0 within seconds of --duration 1s\n%s", r.code, took, r.stderr)
	}
	if s := readLeaks(t, out); s.Snapshots != 2 || s.Ended != "duration" {
		t.Errorf("leaks.json: %d snapshots, ended %q; want 2, duration", s.Snapshots, s.Ended)
	}
}

// TestWatchBoundedAnswer: a server that streams without end, or answers
// with a gzip bomb, ends the watch with one line naming the limit, and
// gofil's memory stays bounded.
func TestWatchBoundedAnswer(t *testing.T) {
	bomb := gzipBomb()
	for name, handler := range map[string]http.HandlerFunc{
		"endless stream": func(w http.ResponseWriter, r *http.Request) {
			chunk := bytes.Repeat([]byte{0x1f}, 1<<20)
			for i := 0; i < 1024 && r.Context().Err() == nil; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
		"gzip bomb": func(w http.ResponseWriter, r *http.Request) { w.Write(bomb) },
	} {
		t.Run(name, func(t *testing.T) {
			hs := httptest.NewServer(handler)
			defer hs.Close()
			// The duration is long: the first answer over the limit ends the
			// watch, however long a loaded machine takes to read that far.
			cmd := exec.Command(gofilBin, "watch", hs.URL, "--interval", "1s", "--duration", "60s", "-o", filepath.Join(t.TempDir(), "watch"))
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 || !strings.Contains(string(out), "more than") {
				t.Errorf("gofil watch: %v, %q; want a failure naming the limit", err, out)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
			t.Logf("%s: %d MiB of RSS", name, rss>>20)
			if rss > 500<<20 {
				t.Errorf("gofil watch reached %d MiB of RSS", rss>>20)
			}
		})
	}
}
