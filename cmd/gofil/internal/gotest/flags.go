package gotest

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gofil/gofil/cmd/gofil/internal/cmdline"
)

// Usage is `gofil test`'s help.
const Usage = `Usage: gofil test [flags] [go test flags] PACKAGES [-args ARGS...]

Builds the tests of each package with gofil's tracker (your files are not
modified) and runs every top-level test in a process of its own, as
'go test -run ^Name$' would, at most --procs at a time. Prints, on
stderr, each test's peak Go heap and the bytes it left reachable, largest
peak first; go test's own output on stdout (every test's with -v, else the
failing tests'). Subtests and parallel tests count toward their top-level
test. Exits 1 when a test failed or grew past its baseline, 2 when the
tests cannot be built or run.

  PEAK      the test process's Go heap at its peak (the runtime's exact
            figure, garbage awaiting collection included)
  RETAINED  the live heap after a GC at the process's end, less that of a
            process of the same binary that ran no test

Flags:
  -o DIR             results directory (default: gofil-result/<time>-test-<name>):
                     tests.json, each test's run directory, and the report
                     of the heaviest tests
  --reports N        write the report of the N heaviest tests (default 3)
  --max-tests N      run at most N tests; more is an error (default 500)
  --procs N          test processes at once (default: half the CPUs, at
                     least 1)
  --baseline FILE    fail when a test's peak grows past its peak in FILE by
                     more than --max-increase, or 1 MiB when that is more;
                     a test FILE does not hold is new, not a failure
  --max-increase P   the growth allowed, in percent (default 10)
  --update-baseline  write FILE (--baseline) from this run instead
  --rate BYTES       heap sampling rate (default 64K)
  --tags TAGS        build tags, as for go test
  --build-flag F     a further go build flag (repeatable)

go test flags taken: -run, -skip, -count, -timeout, -short, -v, -cpu,
-parallel (of t.Parallel), -failfast, -args.
`

// Flags are `gofil test`'s command line, parsed.
type Flags struct {
	Out, Rate, Tags string
	Config          Config
}

// testValueFlags are the go test flags with a value that gofil test passes
// on to the test binary; testBoolFlags those without.
var (
	testValueFlags = []string{"skip", "count", "timeout", "cpu", "parallel"}
	testBoolFlags  = []string{"short", "failfast"}
)

// Parse parses `gofil test`'s arguments. Config's Dir, Env, CacheDir,
// Out and outputs are left for the caller.
func Parse(args []string) (Flags, error) {
	var f Flags
	c := &f.Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.Out, "o", "", "")
	fs.StringVar(&f.Rate, "rate", "", "")
	fs.StringVar(&f.Tags, "tags", "", "")
	var bf multiFlag
	fs.Var(&bf, "build-flag", "")
	fs.IntVar(&c.Reports, "reports", 3, "")
	fs.IntVar(&c.MaxTests, "max-tests", 500, "")
	fs.IntVar(&c.Parallel, "procs", DefaultParallel(), "")
	fs.StringVar(&c.Baseline, "baseline", "", "")
	fs.BoolVar(&c.UpdateBaseline, "update-baseline", false, "")
	increase := fs.Float64("max-increase", 10, "")
	fs.StringVar(&c.Run, "run", "", "")
	fs.BoolVar(&c.Verbose, "v", false, "")
	values := map[string]*string{}
	for _, name := range testValueFlags {
		values[name] = fs.String(name, "", "")
	}
	bools := map[string]*bool{}
	for _, name := range testBoolFlags {
		bools[name] = fs.Bool(name, false, "")
	}
	own := args
	for i, a := range args {
		if a == "-args" || a == "--args" {
			own, c.Args = args[:i], args[i+1:]
			break
		}
	}
	pkgs, err := cmdline.Interleaved(fs, own)
	if err != nil {
		return f, err
	}
	c.Patterns, c.BuildFlags = pkgs, bf
	if len(pkgs) == 0 {
		c.Patterns = []string{"."}
	}
	if c.MaxTests < 1 || c.Reports < 0 || c.Parallel < 1 {
		return f, errors.New("--max-tests and --procs must be at least 1, --reports at least 0")
	}
	if !(*increase >= 0) {
		return f, errors.New("--max-increase must be a percentage of 0 or more")
	}
	c.Threshold = Threshold{Fraction: *increase / 100, Floor: DefaultThreshold.Floor}
	if c.UpdateBaseline && c.Baseline == "" {
		return f, errors.New("--update-baseline needs --baseline FILE")
	}
	if c.Verbose {
		c.TestFlags = append(c.TestFlags, "-test.v=true")
	}
	for _, name := range testValueFlags {
		if v := *values[name]; v != "" {
			c.TestFlags = append(c.TestFlags, "-test."+name+"="+v)
		}
	}
	for _, name := range testBoolFlags {
		if *bools[name] {
			c.TestFlags = append(c.TestFlags, "-test."+name+"=true")
		}
	}
	if v := *values["count"]; v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			return f, fmt.Errorf("-count must be a number of at least 1")
		}
	}
	return f, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
