package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// gofilBin is the gofil binary under test, built once by TestMain in
// testRoot, which the tests may share things in and which TestMain removes.
var gofilBin, testRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gofil-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRoot = dir
	gofilBin = filepath.Join(dir, "gofil")
	out, err := exec.Command("go", "build", "-o", gofilBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building gofil: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const mib = 1 << 20

// testdata returns the absolute path of a testdata program.
func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	code    int
	stdout  string
	stderr  string
	dir     string
	summary *summary.Summary
}

// gofil runs the gofil binary in dir with args and reads the summary of the
// report it names with -o, if there is one.
func gofil(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return gofilEnv(t, dir, nil, args...)
}

// gofilEnv is gofil with env added to the environment.
func gofilEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(gofilBin, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	r := runGofil(t, cmd)
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			r.dir = args[i+1]
		}
	}
	if r.dir != "" {
		r.summary = readSummary(t, r.dir)
	}
	return r
}

// runGofil runs cmd, a gofil command, and gathers its exit code and what
// it printed.
func runGofil(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("gofil %v: %v", cmd.Args[1:], err)
	}
	return r
}

func readSummary(t *testing.T, dir string) *summary.Summary {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if err != nil {
		return nil
	}
	var s summary.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return &s
}

// inclusive returns the bytes a function held at the peak, callees
// included, as summary.json reports them.
func inclusive(s *summary.Summary, fn string) int64 {
	for _, f := range s.Functions {
		if f.Function == fn {
			return f.Bytes
		}
	}
	return 0
}

// within reports whether got is within frac of want.
func within(got, want int64, frac float64) bool {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d <= frac*float64(want)
}

// TestAccuracy checks the attribution at the peak against programs whose
// true bytes per function are known: every function holding at least 5% of
// the peak must be reported within ±5% of its true bytes, callees included.
func TestAccuracy(t *testing.T) {
	cases := []struct {
		name  string
		truth map[string]int64
		// outside is the true memory outside the Go heap at the peak, if
		// the case checks it (±10%).
		outside int64
	}{
		{"example", map[string]int64{
			"main.loadRecords": 160 * mib, "main.buildIndex": 192 * mib, "main.tagRecords": 32 * mib,
		}, 0},
		{"goroutines", map[string]int64{"main.worker": 320 * mib}, 0},
		{"smallobjs", map[string]int64{"main.buildList": 384 * mib, "main.loadBlob": 64 * mib}, 0},
		{"mmap", map[string]int64{"main.fillHeap": 192 * mib}, 128 * mib},
		{"oldgo", map[string]int64{"main.hold": 64 * mib}, 0},
		// The peak is while a 200 MiB mapping is held and no GC runs: the
		// tracker accounts the heap itself when memory outside it grows.
		{"mmapspike", map[string]int64{"main.fillHeap": 100 * mib}, 200 * mib},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			r := gofil(t, testdata(t, c.name), "run", "-o", out, ".")
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s", r.code, r.stderr)
			}
			s := r.summary
			if s == nil || s.Peak == nil {
				t.Fatalf("no peak in summary\n%s", r.stderr)
			}
			var total int64
			for fn, want := range c.truth {
				got := inclusive(s, fn)
				t.Logf("%s: %.1f MiB (truth %.1f MiB, %+.2f%%)", fn, float64(got)/mib, float64(want)/mib, 100*float64(got-want)/float64(want))
				if tol := samplingTolerance(want, s.SamplingRate); !within(got, want, tol) {
					t.Errorf("%s holds %d bytes at the peak, want %d ±%.1f%%", fn, got, want, 100*tol)
				}
				if !strings.Contains(fn, "tagRecords") {
					total += want
				}
			}
			// No function of the program's own beyond the truth holds 5%;
			// main and its closures are callers of the truth's functions.
			for _, f := range s.Functions {
				if strings.HasPrefix(f.Function, "main.") && !strings.HasPrefix(f.Function, "main.main") && c.truth[f.Function] == 0 && f.Bytes > s.Peak.HeapBytes/20 {
					t.Errorf("%s holds %d bytes at the peak, which no ground truth says", f.Function, f.Bytes)
				}
			}
			if !within(s.Peak.HeapBytes, total, 0.05) {
				t.Errorf("peak.heap_bytes = %d, want %d ±5%%", s.Peak.HeapBytes, total)
			}
			checkExactOrBounds(t, s.Peak, total, 0.05)
			if s.Peak.RSSBytes < uint64(total) {
				t.Errorf("peak.rss_bytes = %d, less than the heap's %d", s.Peak.RSSBytes, total)
			}
			// example holds all it made until the line before its own
			// runtime.GC: no GC setting lowers its peak, and none may be
			// advised.
			if c.name == "example" && s.GCAdvice != "" {
				t.Errorf("advice for a program whose peak is all data held: %q", s.GCAdvice)
			}
			if c.outside > 0 {
				t.Logf("outside the heap: %.1f MiB (truth %.1f MiB)", float64(s.Peak.OutsideHeapBytes)/mib, float64(c.outside)/mib)
				if !within(int64(s.Peak.OutsideHeapBytes), c.outside, 0.10) {
					t.Errorf("peak.outside_heap_bytes = %d, want %d ±10%%", s.Peak.OutsideHeapBytes, c.outside)
				}
			}
			if t.Failed() {
				t.Logf("gofil's stderr:\n%s", r.stderr)
			}
			checkFiles(t, out, s)
		})
	}
}

// checkFiles checks that the profile and the collapsed stacks agree with
// the summary.
func checkFiles(t *testing.T, dir string, s *summary.Summary) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, rundir.PeakProfile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("peak.pb.gz: %v", err)
	}
	if len(p.SampleType) != 4 || p.SampleType[0].Type != "inuse_objects" || p.SampleType[0].Unit != "count" ||
		p.SampleType[1].Type != "inuse_space" || p.SampleType[1].Unit != "bytes" ||
		p.SampleType[2].Type != "live_space" || p.SampleType[3].Type != "garbage_space" {
		t.Errorf("sample types %v, want inuse_objects/count, inuse_space/bytes, live_space/bytes, garbage_space/bytes", p.SampleType)
	}
	var total int64
	lines := false
	for _, smp := range p.Sample {
		total += smp.Value[1]
		for _, loc := range smp.Location {
			for _, l := range loc.Line {
				if l.Line > 0 && l.Function.Filename != "" {
					lines = true
				}
			}
		}
	}
	if total != s.Peak.HeapBytes {
		t.Errorf("peak.pb.gz holds %d bytes, summary says %d", total, s.Peak.HeapBytes)
	}
	if !lines {
		t.Error("peak.pb.gz has no file and line information")
	}
	folded, err := os.ReadFile(filepath.Join(dir, rundir.PeakFolded))
	if err != nil {
		t.Fatal(err)
	}
	var foldedTotal int64
	for _, line := range strings.Split(strings.TrimSpace(string(folded)), "\n") {
		i := strings.LastIndexByte(line, ' ')
		n, err := strconv.ParseInt(line[i+1:], 10, 64)
		// A stack may be one frame: a goroutine's own function that
		// allocated, its runtime frames hidden as runtime/pprof hides them.
		if i <= 0 || err != nil || strings.HasPrefix(line, ";") || strings.Contains(line[:i], ";;") {
			t.Fatalf("peak.folded: bad line %q", line)
		}
		foldedTotal += n
	}
	if foldedTotal != s.Peak.HeapBytes {
		t.Errorf("peak.folded holds %d bytes, summary says %d", foldedTotal, s.Peak.HeapBytes)
	}
}

// TestPprofOpens checks that go tool pprof reads the profile and names the
// peak's largest function.
func TestPprofOpens(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, testdata(t, "oldgo"), "run", "-o", out, ".")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	top, err := exec.Command("go", "tool", "pprof", "-top", filepath.Join(out, rundir.PeakProfile)).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, top)
	}
	if !strings.Contains(string(top), "main.hold") || !strings.Contains(string(top), "inuse_space") {
		t.Errorf("go tool pprof -top does not show main.hold's inuse_space:\n%s", top)
	}
}

// TestExitPaths checks that every way a program can end leaves a report
// holding main.hold's 64 MiB, and that gofil exits as the program did.
func TestExitPaths(t *testing.T) {
	cases := []struct {
		mode     string
		signal   syscall.Signal // sent to gofil once the program says "ready"
		code     int
		exitPath string
	}{
		{"return", 0, 0, "return"},
		{"exit", 0, 3, "exit"},
		{"fatal", 0, 1, "exit"},
		{"panic", 0, 2, "panic"},
		{"wait", syscall.SIGTERM, 128 + 15, "signal SIGTERM"},
		{"wait", syscall.SIGINT, 128 + 2, "signal SIGINT"},
		{"handled", syscall.SIGTERM, 0, "return"},
		{"killed", syscall.SIGKILL, 128 + 9, ""},
	}
	for _, c := range cases {
		name := c.mode
		if c.signal != 0 {
			name += "-" + strings.ToLower(c.signal.String())
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			code, stderr := runUntilReady(t, out, c.mode, c.signal)
			if code != c.code {
				t.Fatalf("exit code %d, want %d\n%s", code, c.code, stderr)
			}
			s := readSummary(t, out)
			if s == nil || s.Peak == nil {
				t.Fatalf("no report after %s\n%s", name, stderr)
			}
			if s.ExitCode != c.code {
				t.Errorf("summary exit_code %d, want %d", s.ExitCode, c.code)
			}
			if s.ExitPath != c.exitPath {
				t.Errorf("summary exit_path %q, want %q", s.ExitPath, c.exitPath)
			}
			got := inclusive(s, "main.hold")
			if !within(got, 64*mib, 0.05) {
				t.Errorf("main.hold holds %d bytes, want 64 MiB ±5%%\n%s", got, stderr)
			}
		})
	}
}

// runUntilReady runs testdata/exits in mode, sends sig to gofil once the
// program has printed "ready", and returns gofil's exit code and stderr.
func runUntilReady(t *testing.T, out, mode string, sig syscall.Signal) (int, string) {
	t.Helper()
	cmd, stdout, stderr := startGofil(t, testdata(t, "exits"), "run", "-o", out, ".", "--", mode)
	if sig != 0 {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && sc.Text() != "ready" {
		}
		if sig == syscall.SIGKILL {
			// SIGKILL cannot be forwarded: kill the program itself, as the
			// kernel's OOM killer would.
			killChild(t, cmd.Process.Pid)
		} else {
			cmd.Process.Signal(sig)
		}
	}
	io.Copy(io.Discard, stdout)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// startGofil starts gofil in dir with args and its stdout piped. Two
// minutes on, gofil and the program are killed, whatever state they are in.
func startGofil(t *testing.T, dir string, args ...string) (*exec.Cmd, io.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(gofilBin, args...)
	cmd.Dir = dir
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() {
		killChild(t, cmd.Process.Pid)
		cmd.Process.Kill()
	})
	t.Cleanup(func() { timer.Stop() })
	return cmd, stdout, stderr
}

// killChild sends SIGKILL to the children of pid. Any of its threads may
// have started them, so every thread's list is read.
func killChild(t *testing.T, pid int) {
	t.Helper()
	lists, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, l := range lists {
		data, _ := os.ReadFile(l)
		for _, f := range strings.Fields(string(data)) {
			child, _ := strconv.Atoi(f)
			if syscall.Kill(child, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	if killed == 0 {
		t.Fatalf("gofil (pid %d) has no child to kill", pid)
	}
}

// TestGoroutinePanic checks a panic outside main: the runtime ends the
// program without running any hook, so the report holds what the tracker
// wrote up to the program's last GC, and says so.
func TestGoroutinePanic(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "report")
	code, stderr := runUntilReady(t, out, "goroutine-panic", 0)
	if code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "panic: exits: panic in a goroutine") {
		t.Errorf("the program's panic message is missing from stderr:\n%s", stderr)
	}
	s := readSummary(t, out)
	if s == nil {
		t.Fatal("no summary.json")
	}
	if !strings.Contains(strings.Join(s.Notes, "\n"), "without the tracker's final accounting") {
		t.Errorf("notes %q do not say the final accounting is missing", s.Notes)
	}
}

// TestBadInput checks that each kind of bad input gets one clear error line
// and a non-zero exit, and leaves no report directory behind.
func TestBadInput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		want  string // in the error line
		extra string // elsewhere in stderr
	}{
		{"not main", []string{"./notmain"}, "is package notmain, not a main package", ""},
		{"does not compile", []string{"./broken"}, "does not build", "cannot use \"not an int\""},
		{"no such path", []string{"./nosuchdir"}, "no such file or directory", ""},
		{"unwritable -o", []string{"-o", filepath.Join(file, "sub"), "./oldgo"}, "is not a directory", ""},
		{"unknown flag", []string{"--nosuchflag", "./oldgo"}, "flag provided but not defined", ""},
		{"bad rate", []string{"--rate", "lots", "./oldgo"}, "--rate", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			args := append([]string{"run"}, c.args...)
			if !slices.Contains(c.args, "-o") {
				args = append([]string{"run", "-o", out}, c.args...)
			}
			r := gofil(t, testdata(t, ""), args...)
			if r.code == 0 {
				t.Fatalf("exit code 0, want non-zero")
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "gofil run: ") || !strings.Contains(last, c.want) {
				t.Errorf("last stderr line %q, want a 'gofil run:' line containing %q", last, c.want)
			}
			if c.extra == "" && len(lines) != 1 {
				t.Errorf("stderr has %d lines, want one:\n%s", len(lines), r.stderr)
			}
			if c.extra != "" && !strings.Contains(r.stderr, c.extra) {
				t.Errorf("stderr does not show the compiler's %q:\n%s", c.extra, r.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created", out)
			}
		})
	}
}

// TestFilesWithoutModule runs a .go file in a directory with no go.mod, and
// checks that the directory is left as it was.
func TestFilesWithoutModule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testdata(t, "oldgo"), "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, dir, "run", "-o", out, "main.go")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	if got := inclusive(r.summary, "main.hold"); !within(got, 64*mib, 0.05) {
		t.Errorf("main.hold holds %d bytes, want 64 MiB ±5%%", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the program's directory now holds %d entries, want only main.go", len(entries))
	}
}

// TestPrebuiltBinary runs a binary without source: gofil reports resident
// memory and says that stacks need source.
func TestPrebuiltBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "oldgo")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = testdata(t, "oldgo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, t.TempDir(), "run", "-o", out, bin)
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	if r.summary == nil || r.summary.Peak == nil || r.summary.Peak.RSSBytes < 64*mib {
		t.Fatalf("no peak RSS of at least 64 MiB in %+v", r.summary)
	}
	if !strings.Contains(strings.Join(r.summary.Notes, " "), "allocation stacks need the program's source") {
		t.Errorf("notes %q do not say stacks need source", r.summary.Notes)
	}
}

// TestStdio checks that the program's arguments, stdin, stdout, working
// directory and environment are its own: gofil's variables are gone and
// GODEBUG is what the user set.
func TestStdio(t *testing.T) {
	dir := t.TempDir()
	src := `package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	in, _ := io.ReadAll(os.Stdin)
	wd, _ := os.Getwd()
	fmt.Printf("args=%q stdin=%q wd=%s\n", os.Args[1:], in, wd)
	var gofilVars []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOFIL_") {
			gofilVars = append(gofilVars, kv)
		}
	}
	fmt.Printf("GODEBUG=%q MINE=%q gofil=%q\n", os.Getenv("GODEBUG"), os.Getenv("MINE"), gofilVars)
	os.Exit(7)
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command(gofilBin, "run", "-o", out, "main.go", "--", "a b", "-c")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("hello")
	cmd.Env = append(os.Environ(), "GODEBUG=panicnil=1", "MINE=x")
	stdout, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("gofil: %v, want exit code 7", err)
	}
	want := fmt.Sprintf("args=[\"a b\" \"-c\"] stdin=\"hello\" wd=%s\nGODEBUG=\"panicnil=1\" MINE=\"x\" gofil=[]\n", dir)
	if string(stdout) != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
}

// TestIgnoredSignalsStayIgnored: started with SIGHUP and SIGINT ignored, as
// nohup and a shell's background job start a command, gofil and the
// program it runs both survive those signals sent to their process group,
// as the program does without gofil.
func TestIgnoredSignalsStayIgnored(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command("/bin/sh", "-c", `trap '' HUP INT; exec "$0" "$@"`, gofilBin, "run", "-o", out, ".", "--", "survive")
	cmd.Dir = testdata(t, "exits")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer timer.Stop()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
			t.Fatal(err)
		}
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if err != nil || !strings.Contains(rest.String(), "survived") {
		t.Errorf("gofil: %v, program printed %q after the signals; want exit 0 and \"survived\"\n%s", err, rest.String(), stderr.String())
	}
}

// goEnvFor returns an environment with HOME and TMPDIR of the test's own,
// and the go command's caches where they were: what gofil leaves behind in
// its cache and TMPDIR can then be listed.
func goEnvFor(t *testing.T) (env []string, home, tmp string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	dirs := strings.Fields(string(out))
	home, tmp = t.TempDir(), t.TempDir()
	return []string{"HOME=" + home, "XDG_CACHE_HOME=", "TMPDIR=" + tmp, "GOCACHE=" + dirs[0], "GOMODCACHE=" + dirs[1], "GOPATH=" + dirs[2]}, home, tmp
}

// TestKilledGofilLeavesNothing: when gofil is killed with SIGKILL, the
// program dies with it, and the next run removes the temporary directory
// the killed one left.
func TestKilledGofilLeavesNothing(t *testing.T) {
	env, home, _ := goEnvFor(t)
	cmd := exec.Command(gofilBin, "run", "-o", filepath.Join(t.TempDir(), "report"), ".", "--", "survive")
	cmd.Dir = testdata(t, "exits")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
	}
	children := childPIDs(t, cmd.Process.Pid)
	if len(children) != 1 {
		t.Fatalf("gofil has children %v, want the program alone", children)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for running(children[0]) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if running(children[0]) {
		syscall.Kill(children[0], syscall.SIGKILL)
		t.Errorf("the program, pid %d, ran on after gofil was killed", children[0])
	}
	left, _ := filepath.Glob(filepath.Join(home, ".cache", "gofil", "gofil-run-*"))
	if len(left) != 1 {
		t.Fatalf("the killed gofil left %q in its cache, want its one temporary directory", left)
	}
	r := gofilEnv(t, testdata(t, "exits"), env, "run", "-o", filepath.Join(t.TempDir(), "report"), ".", "--", "return")
	if r.code != 0 {
		t.Fatalf("the next run: exit code %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(left[0]); err == nil {
		t.Errorf("the next run left %s in place", left[0])
	}
}

// TestSignalDuringBuild: SIGTERM while the program is being built stops the
// build, compilers included, removes the build's files and the report
// directory, and ends gofil as killed by SIGTERM (exit code 143) at once.
func TestSignalDuringBuild(t *testing.T) {
	env, home, _ := goEnvFor(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "building")
	script := filepath.Join(dir, "slowexec")
	// The build's first tool waits a minute: the signal comes meanwhile.
	os.WriteFile(script, []byte("#!/bin/sh\necho $$ > "+marker+"\nsleep 60\nexec \"$@\"\n"), 0o700)
	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command(gofilBin, "run", "--build-flag=-toolexec="+script, "-o", out, ".")
	cmd.Dir = testdata(t, "example")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var tool int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(marker); err == nil && len(bytes.TrimSpace(b)) > 0 {
			tool, _ = strconv.Atoi(string(bytes.TrimSpace(b)))
			break
		}
	}
	if tool == 0 {
		t.Fatalf("the build never reached its first tool\n%s", stderr.String())
	}
	begin := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	took := time.Since(begin)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+15 || took > 10*time.Second {
		t.Errorf("after SIGTERM: %v in %v, want exit code 143 within seconds\n%s", err, took, stderr.String())
	}
	// Killed, it may stay a zombie for a moment until init reaps it.
	for deadline := time.Now().Add(3 * time.Second); running(tool) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if running(tool) {
		syscall.Kill(tool, syscall.SIGKILL)
		t.Errorf("the build's tool, pid %d, runs on", tool)
	}
	if left, _ := filepath.Glob(filepath.Join(home, ".cache", "gofil", "build-*")); len(left) > 0 {
		t.Errorf("the build left %q", left)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the report directory %s is left", out)
	}
}

// childPIDs lists the children of pid, from every thread's list.
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, l := range lists {
		data, _ := os.ReadFile(l)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

// running reports whether process pid exists and is not a zombie.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// TestFullDisk: a program that fills the disk its report is on ends with
// its own exit code, and what could not be written is said on gofil's
// stderr, the tracker's failures among them, not in the program's.
func TestFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a small file system takes root")
	}
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", "-l", disk).Run()
	out := filepath.Join(disk, "report")
	r := gofil(t, testdata(t, "exits"), "run", "-o", out, ".", "--", "fill", disk)
	if r.code != 42 {
		t.Errorf("exit code %d, want the program's 42\n%s", r.code, r.stderr)
	}
	lines := stderrLines(r.stderr)
	var tracker, incomplete bool
	for _, l := range lines {
		tracker = tracker || strings.HasPrefix(l, "gofil run: the tracker: ") && strings.Contains(l, "no space left on device")
		incomplete = incomplete || strings.HasPrefix(l, "gofil run: the report is not complete: ")
		if strings.HasPrefix(l, "gofil: write") {
			t.Errorf("the tracker wrote into the program's stderr: %q", l)
		}
	}
	if !tracker || !incomplete {
		t.Errorf("stderr does not say the tracker's writes failed (%v) and the report is not complete (%v):\n%s", tracker, incomplete, r.stderr)
	}
}

// TestClosedPipe: gofil run ... | true, with gofil's stdout and stderr a
// pipe nobody reads: gofil passes the program's exit code on (128+SIGPIPE,
// as the program dies of it writing) instead of dying of SIGPIPE itself,
// and leaves no temporary directory.
func TestClosedPipe(t *testing.T) {
	env, _, tmp := goEnvFor(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := exec.Command(gofilBin, "run", "-o", filepath.Join(t.TempDir(), "report"), ".")
	cmd.Dir = testdata(t, "example")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	w.Close()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("gofil: %v, want the program's exit code", err)
	}
	if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() || ee.ExitCode() != 128+int(syscall.SIGPIPE) {
		t.Errorf("gofil ended %v (signalled %v), want exit code %d, the program's", ee, ws.Signaled(), 128+int(syscall.SIGPIPE))
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "gofil-*")); len(left) > 0 {
		t.Errorf("gofil left %q", left)
	}
}

// TestPanicTraceIsTheProgramsOwn: a panic in main prints the trace the
// program prints without gofil: main.main at the program's own line, no
// frame or file of gofil's.
func TestPanicTraceIsTheProgramsOwn(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, testdata(t, "exits"), "run", "-o", out, ".", "--", "panic")
	if r.code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", r.code, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^main\.main\(\)\n\t.*/exits/main\.go:\d+ `).MatchString(r.stderr) {
		t.Errorf("the trace has no main.main() at testdata/exits/main.go:\n%s", r.stderr)
	}
	for _, s := range []string{"gofil_userMain", "RunMain", "zz_gofil_agent", "gofiltracker", "MainDone"} {
		if strings.Contains(r.stderr, s) {
			t.Errorf("the panic's trace shows %q:\n%s", s, r.stderr)
		}
	}
	if s := readSummary(t, out); s == nil || s.ExitPath != "panic" {
		t.Errorf("summary.json: %+v, want exit_path panic", s)
	}
}

// TestDeadlock: a program that deadlocks ends under gofil as it does
// without: exit code 2 and the runtime's "all goroutines are asleep", with a
// report that holds what it allocated and says what happened. A program
// that only waits, on a timer's channel or a context's deadline, is not
// taken for one.
func TestDeadlock(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode string
		code int
	}{{"chan", 2}, {"chan-gc", 2}, {"wg", 2}, {"goexit", 2}, {"timer", 0}, {"ctx", 0}} {
		t.Run(c.mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			cmd, stdout, stderr := startGofil(t, testdata(t, "deadlock"), "run", "-o", out, ".", "--", c.mode)
			io.Copy(io.Discard, stdout)
			begin := time.Now()
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || time.Since(begin) > 30*time.Second {
				t.Fatalf("exit code %d after %v, want %d\n%s", code, time.Since(begin), c.code, stderr)
			}
			if c.code == 2 && !strings.Contains(stderr.String(), "fatal error: all goroutines are asleep - deadlock!") {
				t.Errorf("stderr does not have the runtime's deadlock error:\n%s", stderr)
			}
			s := readSummary(t, out)
			if s == nil {
				t.Fatalf("no report\n%s", stderr)
			}
			if got := inclusive(s, "main.hold"); !within(got, 48*mib, 0.05) {
				t.Errorf("main.hold holds %d bytes, want 48 MiB ±5%%", got)
			}
			if c.code == 2 && (len(s.Notes) == 0 || !strings.Contains(strings.Join(s.Notes, " "), "as the Go runtime ends a deadlock")) {
				t.Errorf("summary.json's notes %q do not say the program deadlocked", s.Notes)
			}
		})
	}
}

// checkExactOrBounds holds the runtime's figure for the peak to want, ±tol:
// the exact figure when the readings around the mark proved it, else the
// bounds they give, which must then hold want (the figure is unknown: a
// forced GC whose mark lasted less than the tracker's poll, say).
func checkExactOrBounds(t *testing.T, p *summary.PeakInfo, want int64, tol float64) {
	t.Helper()
	if p.HeapBytesExact != 0 {
		if !within(int64(p.HeapBytesExact), want, tol) {
			t.Errorf("peak.heap_bytes_exact = %d, want %d ±%.0f%%", p.HeapBytesExact, want, 100*tol)
		}
		return
	}
	b := p.MarkHeapBoundsBytes
	t.Logf("the runtime's exact heap at the peak unknown; bounds %v", b)
	if len(b) == 0 {
		// Neither is known when the tracker saw no reading between the
		// marks around the peak (GC cycles back to back, a loaded
		// machine): unknown is then the truthful answer.
		return
	}
	if !boundsHold(b, want, tol) {
		t.Errorf("the runtime's heap at the peak unknown, and its bounds %v do not hold %d ±%.0f%%", b, want, 100*tol)
	}
}

// boundsHold reports whether bounds (summary.json's [least, most]) hold
// want, ±tol.
func boundsHold(b []uint64, want int64, tol float64) bool {
	return len(b) == 2 && float64(b[0]) <= (1+tol)*float64(want) && float64(b[1]) >= (1-tol)*float64(want)
}
