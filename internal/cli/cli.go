// Package cli implements gofil's command line.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const usage = `gofil finds the moment a Go program used the most memory, and which lines held it.

Usage:
  gofil run [flags] PACKAGE | FILE.go... | BINARY [-- ARGS...]
  gofil report [--open] [-o DIR] DIR | PROFILE
  gofil watch [flags] URL
  gofil diff [-o FILE.svg] BASE.pb.gz NEW.pb.gz
  gofil help [COMMAND]

Run 'gofil help run' for the flags of a command.
`

// Run runs gofil with args (without the program name) and returns the exit
// code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stdin, stdout, stderr)
	case "report":
		return reportCommand(ctx, args[1:], stdout, stderr)
	case "watch":
		return watchCommand(ctx, args[1:], stdout, stderr)
	case "diff":
		return diffCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			switch args[1] {
			case "run":
				fmt.Fprint(stdout, runUsage)
				return 0
			case "report":
				fmt.Fprint(stdout, reportUsage)
				return 0
			case "watch":
				fmt.Fprint(stdout, watchUsage)
				return 0
			case "diff":
				fmt.Fprint(stdout, diffUsage)
				return 0
			}
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gofil: unknown command %q (try 'gofil help')\n", args[0])
	return 2
}

// parseInterleaved parses args with fs, letting positional arguments stand
// before, between or after the flags ("gofil watch URL --interval 1s"), and
// returns the positional arguments in order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
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
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 65536, 64K, 300M, 2G)", s)
	}
	return uint64(v * float64(mult)), nil
}
