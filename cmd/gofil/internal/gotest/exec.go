package gotest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofil/gofil/cmd/gofil/internal/runner"
	"github.com/gofil/gofil/internal/pacer"
	"github.com/gofil/gofil/internal/privtmp"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/rundirs"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// listTests lists the binary's top-level tests, examples and fuzz tests
// whose names match re, as -test.list gives them (a TestMain runs, as for
// go test -list). Benchmarks are left out: go test runs none unless asked.
func listTests(ctx context.Context, binary, dir, re string) ([]string, error) {
	cmd := exec.CommandContext(ctx, binary, "-test.list", re)
	cmd.Dir = dir
	privtmp.KillGroupOnCancel(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("listing the tests: %v\n%s", err, strings.TrimSpace(out.String()))
	}
	var tests []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(name, "Benchmark") || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		tests = append(tests, name)
	}
	return tests, nil
}

// job is one test process to run: a test of run, or with test "" the run
// of no test that measures the binary's own live heap.
type job struct {
	run  *pkgRun
	test string
	dir  string
	row  *Row
}

// runAll runs every package's tests, at most c.Parallel processes at once,
// and prints each package's output when its tests have all run. A signal
// (SIGINT, SIGTERM, SIGHUP, SIGQUIT) reaches the tests running, as it
// would under go test, and no further test starts: interrupted names it,
// and rows holds the tests that ran.
func (c Config) runAll(ctx context.Context, runs []*pkgRun, rest string) (rows []Row, interrupted os.Signal) {
	sigc := make(chan os.Signal, 1)
	runner.NotifyUnignored(sigc, runner.ForwardedSignals...)
	defer signal.Stop(sigc)
	var got atomic.Value
	go func() {
		for sig := range sigc {
			got.CompareAndSwap(nil, sig)
		}
	}()
	stopped := func() bool { return got.Load() != nil }
	for pi, pr := range runs {
		if stopped() {
			break
		}
		rows = append(rows, c.runPackage(ctx, pi, pr, rest, stopped)...)
	}
	if sig, ok := got.Load().(os.Signal); ok {
		return rows, sig
	}
	return rows, nil
}

// runPackage runs the tests of one package, the run of no test first
// (every test's retained bytes need it), and returns the rows of those
// that ran.
func (c Config) runPackage(ctx context.Context, pi int, pr *pkgRun, rest string, stopped func() bool) []Row {
	began := time.Now()
	dirOf := func(name string) string {
		return filepath.Join(c.Out, "tests", fmt.Sprintf("%03d-%s-%s", pi, safeName(pr.pkg.ImportPath), safeName(name)))
	}
	base := job{run: pr, dir: dirOf("none"), row: &Row{}}
	c.runJob(ctx, base, "^$", nil)
	pr.baseLive = base.row.liveAtExit
	rows := make([]Row, len(pr.tests))
	outputs := make([][]byte, len(pr.tests))
	ran := make([]bool, len(pr.tests))
	sem := make(chan struct{}, c.Parallel)
	var wg sync.WaitGroup
	for i, name := range pr.tests {
		sem <- struct{}{}
		if stopped() {
			<-sem
			break
		}
		j := job{run: pr, test: name, row: &rows[i], dir: dirOf(name)}
		ran[i] = true
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			pattern := "^" + regexp.QuoteMeta(j.test) + "$"
			if rest != "" {
				pattern += "/" + rest
			}
			outputs[i] = c.runJob(ctx, j, pattern, c.Args)
		}(i)
	}
	wg.Wait()
	var out []Row
	passed := true
	for i := range rows {
		if !ran[i] {
			continue
		}
		if c.Verbose || !rows[i].Passed {
			c.Stdout.Write(testOutput(outputs[i], c.Verbose))
		}
		passed = passed && rows[i].Passed
		if rows[i].liveAtExit > 0 { // 0: the process recorded no end
			rows[i].Retained = int64(rows[i].liveAtExit) - int64(pr.baseLive)
		}
		out = append(out, rows[i])
	}
	word := "ok  "
	if !passed {
		word = "FAIL"
	}
	fmt.Fprintf(c.Stdout, "%s\t%s\t%.3fs\n", word, pr.pkg.ImportPath, time.Since(began).Seconds())
	return out
}

// testOutput is a test process's output as go test prints it: without
// -v, the binary's closing PASS or FAIL line, which go test's own line
// for the package replaces.
func testOutput(out []byte, verbose bool) []byte {
	if verbose {
		return out
	}
	s := strings.TrimSuffix(string(out), "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 && (s[i+1:] == "FAIL" || s[i+1:] == "PASS") {
		s = s[:i]
	} else if s == "FAIL" || s == "PASS" {
		s = ""
	}
	if s == "" {
		return nil
	}
	return []byte(s + "\n")
}

// runJob runs the test binary for one test (tests matching pattern) under
// the tracker, in j.dir, fills j.row and returns what the test printed.
func (c Config) runJob(ctx context.Context, j job, pattern string, args []string) []byte {
	pr := j.run
	*j.row = Row{Package: pr.pkg.ImportPath, Test: j.test, Dir: j.dir}
	rawDir := filepath.Join(j.dir, rundir.RawDir)
	if err := os.MkdirAll(rawDir, 0o700); err != nil {
		j.row.Error = err.Error()
		return []byte(fmt.Sprintf("gofil test: %s: %v\n", j.test, err))
	}
	if err := rundir.WritePackages(rawDir, pr.pkg.Deps); err != nil {
		j.row.Error = err.Error()
		return []byte(fmt.Sprintf("gofil test: %s: %v\n", j.test, err))
	}
	absRaw, err := filepath.Abs(rawDir)
	if err != nil {
		j.row.Error = err.Error()
		return nil
	}
	env := append([]string{raw.EnvDir + "=" + absRaw, raw.EnvExitLive + "=1"}, c.Env...)
	if !slices.Contains(pr.pkg.Deps, "os/signal") {
		env = append(env, raw.EnvNoSignals+"=1")
	}
	testArgs := append([]string{"-test.run=" + pattern, "-test.paniconexit0"}, c.TestFlags...)
	if !hasTimeout(c.TestFlags) {
		testArgs = append(testArgs, "-test.timeout=10m0s")
	}
	testArgs = append(testArgs, args...)
	var out syncBuffer
	res, err := runner.Run(ctx, runner.Config{
		Path: pr.binary, Args: testArgs, Env: env, Dir: pr.pkg.Dir,
		Stdin: nil, Stdout: &out, Stderr: &out, Reports: true,
	})
	if err != nil {
		j.row.Error = err.Error()
		return []byte(fmt.Sprintf("gofil test: %s: %v\n", j.test, err))
	}
	for _, line := range res.Reports {
		fmt.Fprintf(&out, "gofil test: %s: the tracker: %s\n", j.test, line)
	}
	j.row.Passed = res.ExitCode == 0
	j.row.Seconds = res.Duration.Seconds()
	if !j.row.Passed {
		j.row.Error = res.Describe()
	}
	c.measure(j, rawDir, res)
	return out.Bytes()
}

func hasTimeout(flags []string) bool {
	return slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "-test.timeout=") })
}

// measure reads the tracker's files of a test's run into its row, and
// keeps what gofil knew of the process for its report.
func (c Config) measure(j job, rawDir string, res runner.Result) {
	rundir.RemoveTemps(rawDir)
	meta := rundir.Meta{
		Command: []string{j.run.pkg.ImportPath, j.test}, Target: j.run.pkg.ImportPath,
		Binary: filepath.Base(j.run.binary), Started: res.Started, Duration: res.Duration,
		ExitCode: res.ExitCode, MaxRSS: res.MaxRSS, HighWater: res.HighWater,
	}
	if res.Signal != 0 {
		meta.Signal = strings.TrimPrefix(res.Describe(), "killed by ")
	}
	for _, p := range res.Timeline {
		meta.RSS = append(meta.RSS, rundir.RSSPoint{At: p.At, RSS: p.RSS})
	}
	if err := rundir.WriteMeta(rawDir, meta); err != nil {
		j.row.Error = err.Error()
	}
	run, err := rundir.Load(rawDir)
	if err != nil {
		j.row.Error = fmt.Sprintf("reading the tracker's data: %v", err)
		return
	}
	s := summary.Build(meta, run)
	j.row.fill(s, run.GCLog)
}

// fill takes a row's figures from the test process's summary and its GC
// log.
func (r *Row) fill(s *summary.Summary, log *pacer.Log) {
	r.liveAtExit = s.LiveAtExitBytes
	if s.Peak == nil {
		return
	}
	r.Peak, r.PeakExact = s.Peak.HeapBytesExact, true
	if own := trackerOwn(s.Peak, log); r.Peak > own {
		r.Peak -= own // gofil's own, which the test would not hold
	}
	if s.Peak.HeapBytesExact == 0 {
		// The runtime's figure is not known (a run of a few GC cycles):
		// the sampled attribution's, the tracker's own left out.
		r.Peak, r.PeakExact = uint64(max(s.Peak.HeapBytes, 0)), false
	}
	if s.Peak.LiveBytesExact != nil {
		r.PeakLive = *s.Peak.LiveBytesExact
	} else if s.Peak.LiveBytes > 0 {
		r.PeakLive = uint64(s.Peak.LiveBytes)
	}
	r.RSS = s.Peak.RSSBytes
}

// syncBuffer is a buffer the test's stdout and stderr write to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

// safeName is name made a directory's name (rundirs.SafeName), of at most
// 60 bytes.
func safeName(name string) string {
	n := rundirs.SafeName(name)
	if len(n) > 60 {
		n = n[len(n)-60:]
	}
	return n
}

// trackerOwn is the tracker's own heap at the peak p: as the tracker
// counted its structures at the peak's GC cycle (the GC log's own bytes at
// that cycle, or the last line before it), else the sampled
// peak.tracker_bytes. The sampled figure is the tracker's garbage too, but
// its sampling error, some hundreds of KiB, is as large as a small test's
// own heap, and taken from an exact figure it made such a test's peak less
// than what the test held.
func trackerOwn(p *summary.PeakInfo, log *pacer.Log) uint64 {
	if log != nil {
		own, found := uint64(0), false
		for _, pt := range log.Points {
			if pt.Cycle > p.GCCycle {
				break
			}
			if pt.Own > 0 {
				own, found = pt.Own, true
			}
		}
		if found {
			return own
		}
	}
	return uint64(max(p.TrackerBytes, 0))
}
