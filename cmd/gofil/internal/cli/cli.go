// Package cli implements gofil's command line.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/gofil/gofil/cmd/gofil/internal/gotest"
	"github.com/gofil/gofil/internal/term"
)

const usage = `gofil finds the moment a Go program used the most memory, and which lines held it.

Usage:
  gofil run [flags] PACKAGE[@VERSION] | FILE.go... | BINARY [-- ARGS...]
  gofil test [flags] [go test flags] PACKAGES
  gofil build [-o BINARY] [flags] PACKAGE[@VERSION] | FILE.go...
  gofil report [--open] [-o DIR] DIR | PROFILE
  gofil watch [flags] URL
  gofil diff [-o FILE.svg] BASE.pb.gz NEW.pb.gz
  gofil version
  gofil help [COMMAND]

Run 'gofil help run' for the flags of a command.
`

// Exit codes, the same for every command; `gofil run` exits with the
// program's own once the program has run.
const (
	exitOK       = 0
	exitFailed   = 1 // the work failed on the way: a server stopped answering
	exitBadInput = 2 // a command line, file or URL gofil cannot take
	exitReport   = 3 // gofil could not read its data or write its report
)

// command is one of gofil's commands: its usage text (printed by
// 'gofil help NAME', NAME -h and NAME --help) and what runs it, which
// returns an error that exitCode turns into the exit code.
type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands is gofil's command table.
var commands = []command{
	{"run", runUsage, runCommand},
	{"test", gotest.Usage, func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		return testCommand(ctx, args, stdout, stderr)
	}},
	{"build", buildUsage, func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
		return buildCommand(ctx, args, stderr)
	}},
	{"report", reportUsage, func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		return reportCommand(ctx, args, stdout, stderr)
	}},
	{"watch", watchUsage, func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		return watchCommand(ctx, args, stdout, stderr)
	}},
	{"diff", diffUsage, func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		return diffCommand(ctx, args, stdout, stderr)
	}},
	{"version", versionUsage, func(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
		return versionCommand(args, stdout)
	}},
}

// exitError is how a command fails: the exit code, and what to say on
// stderr after "gofil NAME: " (nothing when msg is empty).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// fail is a command's failure with an exit code and a one-line message.
func fail(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// exitWith ends a command with code and nothing more to say: nil for 0.
// `gofil run` passes the program's exit code on so.
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitError{code: code}
}

// exitCode is the one mapping from a command's error to gofil's exit code;
// it says the error on stderr first, on one line whatever names it quotes.
func exitCode(name string, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		if e.msg != "" {
			fmt.Fprintf(stderr, "gofil %s: %s\n", name, term.Name(e.msg))
		}
		return e.code
	}
	fmt.Fprintf(stderr, "gofil %s: %s\n", name, term.Name(err.Error()))
	return exitFailed
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Run runs gofil with args (without the program name) and returns the exit
// code: the program's under `gofil run`, else one of exitOK, exitFailed,
// exitBadInput and exitReport.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Names from a profile or a program reach both: escaped.
	stdout, stderr = term.Escaping(stdout), term.Escaping(stderr)
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadInput
	}
	name := args[0]
	if name == "help" || isHelp(name) {
		if len(args) > 1 && args[1] != "help" && !isHelp(args[1]) {
			if c, ok := lookup(args[1]); ok {
				fmt.Fprint(stdout, c.usage)
				return exitOK
			}
			fmt.Fprintf(stderr, "gofil help: unknown command %q\n", args[1])
			return exitBadInput
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "gofil: unknown command %q (try 'gofil help')\n", name)
		return exitBadInput
	}
	if helpAsked(c.name, args[1:]) {
		fmt.Fprint(stdout, c.usage)
		return exitOK
	}
	return exitCode(c.name, c.run(ctx, args[1:], stdin, stdout, stderr), stderr)
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// helpAsked reports whether args ask for the command's help: -h, -help or
// --help among its own arguments (for run, before the program's, which
// follow "--"; for test, before the tests', which follow "-args").
func helpAsked(name string, args []string) bool {
	for _, a := range args {
		if a == "--" && name == "run" || (a == "-args" || a == "--args") && name == "test" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}

const versionUsage = `Usage: gofil version [BINARY]

Prints gofil's module version, the VCS revision it was built from and the
Go version that built it. Given a binary 'gofil build' wrote, prints the
settings it baked in (rate, OOM threshold, runs kept, output directory),
read from the binary itself: also when it was built with -trimpath, whose
build information leaves -ldflags out.
`

// versionCommand prints what the build info says of gofil itself, or of
// a binary gofil build wrote.
func versionCommand(args []string, stdout io.Writer) error {
	if len(args) > 1 {
		return fail(exitBadInput, "takes at most one binary")
	}
	if len(args) == 1 {
		return binaryVersion(args[0], stdout)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(stdout, "gofil (no build information)")
		return nil
	}
	fmt.Fprintln(stdout, versionLine(bi))
	return nil
}

// versionLine is "gofil VERSION (REVISION[, modified], TIME) GO".
func versionLine(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var parts []string
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified {
			rev += ", modified"
		}
		parts = append(parts, rev)
	}
	if when != "" {
		parts = append(parts, when)
	}
	line := "gofil " + version
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	return line + " " + bi.GoVersion
}

// parseSize parses a byte size such as "65536", "64K", "64KiB", "300M",
// "2G".
func parseSize(s string) (uint64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := uint64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1<<10, t[:n-1]
		case 'M':
			mult, t = 1<<20, t[:n-1]
		case 'G':
			mult, t = 1<<30, t[:n-1]
		case 'T':
			mult, t = 1<<40, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v >= 0) || v*float64(mult) > 1<<62 { // NaN fails v >= 0
		return 0, fmt.Errorf("%q is not a size (examples: 65536, 64K, 300M, 2G)", s)
	}
	return uint64(v * float64(mult)), nil
}
