// Package gotest runs a module's tests under gofil's tracker, one process
// per top-level test, and gives each test its peak and retained memory:
// `gofil test`. The command line is parsed in package cli.
package gotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/gofil/gofil/cmd/gofil/internal/build"
	"github.com/gofil/gofil/internal/privtmp"
	"github.com/gofil/gofil/internal/raw"
)

// Config is one `gofil test`.
type Config struct {
	// Dir is where the go command runs; Patterns the packages.
	Dir      string
	Patterns []string
	// BuildFlags are go build flags (-tags, -race...).
	BuildFlags []string
	// Run is the user's -run: its first element (up to a slash) selects
	// the top-level tests, the rest is passed on.
	Run string
	// TestFlags are the user's other test flags, as the test binary takes
	// them (-test.count=2, -test.v...), and Args what followed -args.
	TestFlags, Args []string
	Verbose         bool
	// Env is added to the environment of every test process: the
	// sampling rate in GODEBUG above all.
	Env []string
	// CacheDir is gofil's private cache, where the test binaries are
	// built.
	CacheDir string
	// Out is the private directory the results go to.
	Out string
	// MaxTests bounds the test processes; Reports is how many of the
	// heaviest tests get a report.
	MaxTests, Reports int
	// Parallel is how many test processes run at once.
	Parallel int
	// Baseline, when set, is the baseline file; Update rewrites it
	// instead of comparing with it.
	Baseline       string
	UpdateBaseline bool
	Threshold      Threshold
	Stdout, Stderr io.Writer
}

// DefaultParallel is how many test processes run at once by default: half
// the CPUs gofil may use, at least one. Each process's peak is its own
// whatever runs beside it; the other half is left to the tests' own
// goroutines and to the trackers, whose sampling a starved CPU delays.
func DefaultParallel() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// Failure is Run's error for something that stopped the tests: one line,
// and the go command's output when it has one (a compiler's errors).
type Failure struct {
	Msg, Output string
	// BadInput: what the user named cannot be tested (no such package,
	// tests that do not compile).
	BadInput bool
}

func (f *Failure) Error() string { return f.Msg }

// say prints the go command's output of a failure, if any, on stderr.
func (c Config) say(err error) error {
	var f *Failure
	if errors.As(err, &f) && f.Output != "" {
		fmt.Fprintln(c.Stderr, strings.TrimRight(f.Output, "\n"))
	}
	return err
}

// ErrFailed is Run's error when a test failed or grew past its baseline:
// the table and the offending lines are said already.
var ErrFailed = errors.New("FAIL")

// pkgRun is one package's test binary and its tests.
type pkgRun struct {
	pkg    build.TestPackage
	binary string
	tests  []string
	// baseLive is the live heap at the end of a run of no test: what the
	// binary's initialisation and TestMain hold.
	baseLive uint64
}

// Run builds the tests of every package c names, runs each top-level test
// in a process of its own under the tracker, and reports.
func Run(ctx context.Context, c Config) error {
	return c.say(c.run(ctx))
}

func (c Config) run(ctx context.Context) error {
	var base *Baseline
	if c.Baseline != "" && !c.UpdateBaseline {
		b, err := ReadBaseline(c.Baseline)
		if err != nil {
			return &Failure{Msg: fmt.Sprintf("--baseline: %v", err), BadInput: true}
		}
		base = &b
	}
	pkgs, err := build.ListTests(ctx, c.Dir, c.BuildFlags, c.Patterns)
	if err != nil {
		return buildFailure(err)
	}
	privtmp.Sweep(c.CacheDir, tmpPrefix)
	tmp, err := privtmp.MakeTemp(c.CacheDir, tmpPrefix)
	if err != nil {
		return &Failure{Msg: err.Error()}
	}
	defer tmp.Remove()
	top, rest := splitRun(c.Run)
	listRE := ".*"
	if top != "" {
		if _, err := regexp.Compile(top); err != nil {
			return &Failure{Msg: fmt.Sprintf("-run: %v", err), BadInput: true}
		}
		listRE = top
	}
	var runs []*pkgRun
	total := 0
	for i, p := range pkgs {
		binary := filepath.Join(tmp.Dir, fmt.Sprintf("%d.test", i))
		err := build.BuildTest(ctx, c.Dir, p, build.Options{Output: binary, CacheDir: c.CacheDir, Flags: c.BuildFlags})
		if errors.Is(err, build.ErrNoTests) {
			continue
		}
		if err != nil {
			return buildFailure(err)
		}
		tests, err := listTests(ctx, binary, p.Dir, listRE)
		if err != nil {
			return &Failure{Msg: fmt.Sprintf("%s: %v", p.ImportPath, err)}
		}
		if len(tests) == 0 {
			continue // none matches -run: no process to start
		}
		total += len(tests)
		runs = append(runs, &pkgRun{pkg: p, binary: binary, tests: tests})
	}
	if total > c.MaxTests {
		return &Failure{Msg: fmt.Sprintf("%d tests match, more than --max-tests %d: narrow them with -run, or raise --max-tests", total, c.MaxTests), BadInput: true}
	}
	if total == 0 {
		fmt.Fprintf(c.Stderr, "gofil test: no tests to run\n")
		return nil
	}
	rows, sig := c.runAll(ctx, runs, rest)
	err = c.finish(rows, base)
	if sig != nil {
		return &Failure{Msg: fmt.Sprintf("%v: %d of %d tests ran", sig, len(rows), total)}
	}
	return err
}

// Env is what every test process's environment gets beside the tracker's
// directory: GODEBUG with the sampling rate, the user's own GODEBUG for
// the tracker to put back, and no OOM guard (a test's process is small,
// and a dump would stand in its peak's way).
func Env(godebug, user string, userSet bool) []string {
	env := []string{"GODEBUG=" + godebug, raw.EnvOOMThreshold + "=off", raw.EnvUserGODEBUG + "=unset"}
	if userSet {
		env[2] = raw.EnvUserGODEBUG + "=set:" + user
	}
	return env
}

// tmpPrefix begins the name of the directory the test binaries are built
// into, in the private cache.
const tmpPrefix = "gofil-test-"

// splitRun splits -run at its first slash: the top-level tests' pattern,
// and the subtests' ("A/B" is "A" and "B"). A slash in brackets or
// escaped is taken as the split all the same.
func splitRun(run string) (top, rest string) {
	top, rest, _ = strings.Cut(run, "/")
	return top, rest
}

// buildFailure makes a build or list error one Failure.
func buildFailure(err error) error {
	var be *build.Error
	if errors.As(err, &be) {
		return &Failure{Msg: be.Msg, Output: be.Output, BadInput: true}
	}
	return &Failure{Msg: err.Error(), BadInput: true}
}

// finish writes tests.json and the reports, prints the table and compares
// with the baseline, read already (base).
func (c Config) finish(rows []Row, base *Baseline) error {
	sortRows(rows)
	WriteTable(c.Stderr, rows)
	c.writeReports(rows)
	if err := writeResults(c.Out, relative(c.Out, rows)); err != nil {
		return &Failure{Msg: err.Error()}
	}
	fmt.Fprintf(c.Stderr, "gofil test: results: %s\n", filepath.Join(c.Out, ResultsFile))
	failed := 0
	for _, r := range rows {
		if r.Passed {
			continue
		}
		failed++
		if r.Error != "" && r.Error != "exit code 1" {
			// Not a test's own failure: a panic, a deadlock, a timeout,
			// a signal; what the process printed is on stdout.
			how := "ended with " + r.Error
			if strings.HasPrefix(r.Error, "killed") {
				how = "was " + r.Error
			}
			fmt.Fprintf(c.Stderr, "gofil test: %s %s: the test process %s\n", r.Package, r.Test, how)
		}
	}
	switch {
	case failed > 0 && c.UpdateBaseline:
		return fmt.Errorf("%w: %d of %d tests failed; the baseline %s is not written", ErrFailed, failed, len(rows), c.Baseline)
	case failed > 0:
		return fmt.Errorf("%w: %d of %d tests failed", ErrFailed, failed, len(rows))
	case c.UpdateBaseline:
		if err := WriteBaseline(c.Baseline, rows); err != nil {
			return &Failure{Msg: fmt.Sprintf("--update-baseline: %v", err)}
		}
		fmt.Fprintf(c.Stderr, "gofil test: baseline written: %s\n", c.Baseline)
	case base != nil:
		if grown := Compare(*base, rows, c.Threshold); len(grown) > 0 {
			for _, g := range grown {
				fmt.Fprintln(c.Stderr, g.Line())
			}
			return fmt.Errorf("%w: %d of %d tests grew past their baseline", ErrFailed, len(grown), len(rows))
		}
	}
	return nil
}
