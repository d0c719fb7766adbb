package cli

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelpEverywhere: every command's -h, -help and --help, and 'gofil help
// NAME', print the command's usage on stdout and exit 0; after run's "--"
// they are the program's.
func TestHelpEverywhere(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {c.name, "-help"}, {"help", c.name}, {c.name, "x", "-h"}} {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), args, nil, &stdout, &stderr)
			if code != 0 || !strings.HasPrefix(stdout.String(), "Usage: gofil "+c.name) || stderr.Len() != 0 {
				t.Errorf("gofil %s: exit %d, stdout %q, stderr %q; want its usage and 0", strings.Join(args, " "), code, firstLine(stdout.String()), stderr.String())
			}
		}
	}
	if !helpAsked("run", []string{"."}) && helpAsked("run", []string{".", "--", "-h"}) {
		t.Error("gofil run . -- -h takes -h for gofil's; it is the program's")
	}
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"help", "nosuch"}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("gofil help nosuch: exit %d, want 2", code)
	}
	// Help on help is gofil's usage.
	for _, args := range [][]string{{"help", "help"}, {"help", "-h"}, {"-h", "help"}} {
		stdout.Reset()
		stderr.Reset()
		if code := Run(context.Background(), args, nil, &stdout, &stderr); code != 0 || stdout.String() != usage || stderr.Len() != 0 {
			t.Errorf("gofil %s: exit %d, stderr %q; want gofil's usage and 0", strings.Join(args, " "), code, stderr.String())
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/gofil/gofil", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionLine(bi), "gofil v0.3.0 (0123456789ab, modified, 2026-12-01T10:00:00Z) go1.26.8"; got != want {
		t.Errorf("versionLine = %q, want %q", got, want)
	}
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, nil, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "gofil ") {
		t.Errorf("gofil version: exit %d, %q", code, stdout.String())
	}
}

func TestParseSizeRejects(t *testing.T) {
	for _, s := range []string{"Inf", "NaN", "1e30", "-1", "x", "+Inf"} {
		if v, err := parseSize(s); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", s, v)
		}
	}
	if v, err := parseSize("300M"); err != nil || v != 300<<20 {
		t.Errorf("parseSize(300M) = %d, %v", v, err)
	}
}

// TestRunFlagsAnyOrder: gofil run's flags may come before or after the
// target; what follows "--" is the program's, flags included.
func TestRunFlagsAnyOrder(t *testing.T) {
	for _, args := range [][]string{
		{"-o", "out", "--rate", "16K", "./job", "--", "-o", "x"},
		{"./job", "-o", "out", "--rate", "16K", "--", "-o", "x"},
		{"--rate", "16K", "./job", "-o", "out", "--", "-o", "x"},
	} {
		f, target, prog, err := parseRunFlags(args)
		if err != nil || f.out != "out" || f.rate != 16<<10 || len(target) != 1 || target[0] != "./job" || len(prog) != 2 || prog[0] != "-o" {
			t.Errorf("%q: out %q, rate %d, target %q, program's %q, err %v", args, f.out, f.rate, target, prog, err)
		}
	}
	if _, target, _, err := parseRunFlags([]string{"main.go", "util.go"}); err != nil || len(target) != 2 {
		t.Errorf("a file list: target %q, err %v", target, err)
	}
}

// TestProgramName: the program is named after the last element of what the
// user named, without a package's version.
func TestProgramName(t *testing.T) {
	for arg, want := range map[string]string{
		"golang.org/x/tools/cmd/stringer@v0.30.0": "stringer",
		"github.com/evanw/esbuild/cmd/esbuild":    "esbuild",
		"example.com/cmd/x@feature/branch":        "x",
		"./cmd/job/":                              "job",
		"main.go":                                 "main",
	} {
		if got := programName(arg); got != want {
			t.Errorf("programName(%q) = %q, want %q", arg, got, want)
		}
	}
}
