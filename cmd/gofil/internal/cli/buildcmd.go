package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/cmd/gofil/internal/build"
	"github.com/gofil/gofil/cmd/gofil/internal/cmdline"
	"github.com/gofil/gofil/internal/privtmp"
	"github.com/gofil/gofil/internal/raw"
)

const buildUsage = `Usage: gofil build [-o BINARY] [flags] PACKAGE[@VERSION] | FILE.go...

Builds the program with gofil's tracker compiled in, as 'gofil run' does
(your files are not modified; positions and panic traces are the
program's own), into a binary that runs without gofil: in production, in
a container. The tracker starts when GOFIL_OUT names a directory, or
--out baked one in; without either it stays off, writes nothing and starts
no goroutine. Started, it makes one run directory per process there,
PROGRAM-TIME-HOST-PID (TIME the UTC start, 20261206T031500Z), private to
the user, and keeps the heap's peak in it while the program runs, so that
a process the out-of-memory killer ends still leaves its peak behind.
'gofil report RUNDIR' writes its report, 'gofil report DIR' lists the
runs in DIR. Each process keeps the newest --keep run directories of the
program there and removes older ones, but never one a living process
writes. A SIGKILL loses at most the time since the last peak write (every
100ms while the peak grows). A full or read-only disk costs the program's
stderr one line at most. When the program starts, GOFIL_OOM_THRESHOLD
overrides --oom-threshold, GOFIL_KEEP --keep and GODEBUG=memprofilerate=N
--rate. 'go version -m BINARY' shows the settings among the build's
-ldflags (not with -trimpath, which leaves -ldflags out). See
docs/production.md.

Flags:
  -o BINARY       the binary to write (default: the package's last path
                  element, in the current directory); its directory must
                  be one no other user can write
  --out DIR       an absolute directory the program writes its run
                  directories in when GOFIL_OUT is not set (default: none)
  --rate BYTES    heap sampling rate: on average one sample per BYTES
                  allocated (default 64K)
  --oom-threshold FRAC
                  write an emergency accounting when memory use crosses
                  FRAC of the limit (default 0.9); "off" disables it
  --keep N        keep the newest N run directories of the program in the
                  directory, removing older ones at start-up, but never
                  one a living process writes (default 20); 0 keeps all
  --tags TAGS     build tags, as for go build
  --build-flag F  a further go build flag (repeatable), e.g.
                  --build-flag=-ldflags=-s
`

type buildFlags struct {
	output       string
	out          string
	rate         uint64
	oomThreshold string
	keep         uint64
	tags         string
	buildFlags   []string
}

func parseBuildFlags(args []string) (buildFlags, []string, error) {
	var f buildFlags
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.output, "o", "", "")
	fs.StringVar(&f.out, "out", "", "")
	rate := fs.String("rate", "", "")
	fs.StringVar(&f.oomThreshold, "oom-threshold", "0.9", "")
	keep := fs.String("keep", "20", "")
	fs.StringVar(&f.tags, "tags", "", "")
	var bf multiFlag
	fs.Var(&bf, "build-flag", "")
	target, err := cmdline.Interleaved(fs, args)
	if err != nil {
		return f, nil, err
	}
	f.buildFlags = bf
	f.rate = DefaultRate
	if *rate != "" {
		if f.rate, err = parseRate(*rate); err != nil {
			return f, nil, err
		}
	}
	if err := checkThreshold(f.oomThreshold); err != nil {
		return f, nil, err
	}
	if f.keep, err = strconv.ParseUint(*keep, 10, 31); err != nil {
		return f, nil, fmt.Errorf("--keep %s: give how many run directories to keep, 0 for all", *keep)
	}
	if f.out != "" && !filepath.IsAbs(f.out) {
		return f, nil, fmt.Errorf("--out %s: give an absolute directory: the program may run anywhere", f.out)
	}
	if len(target) == 0 {
		return f, nil, errors.New("nothing to build: give a package or .go files")
	}
	return f, target, nil
}

// trackerVar is the name the linker's -X gives a variable of the agent's
// tracker package (tracker/production.go).
func trackerVar(name, value string) string {
	return "-X=" + gofil.AgentPackage + "." + name + "=" + value
}

// buildCommand implements `gofil build`.
func buildCommand(ctx context.Context, args []string, stderr io.Writer) error {
	f, targetArgs, err := parseBuildFlags(args)
	if err != nil {
		return fail(exitBadInput, "%v (see 'gofil help build')", err)
	}
	target, err := build.Resolve(targetArgs)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	if target.Binary != "" {
		return fail(exitBadInput, "%s is a binary already: gofil build needs the program's source (a package or .go files)", targetArgs[0])
	}
	output := f.output
	if output == "" {
		output = programName(targetArgs[0])
	} else if st, err := os.Stat(output); err == nil && st.IsDir() {
		// As go build -o DIR does.
		output = filepath.Join(output, programName(targetArgs[0]))
	}
	if output, err = filepath.Abs(output); err != nil {
		return fail(exitBadInput, "-o: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(output)); errors.Is(err, fs.ErrNotExist) {
		return fail(exitBadInput, "-o %s: directory %s does not exist", output, filepath.Dir(output))
	}
	if err := privtmp.Check(filepath.Dir(output)); err != nil {
		return fail(exitBadInput, "-o %s: %v", output, err)
	}
	cache, err := buildCache()
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	flags := append([]string{}, f.buildFlags...)
	if f.tags != "" {
		flags = append(flags, "-tags="+f.tags)
	}
	settings := build.Settings(gofilVersion(), f.rate, f.oomThreshold, f.keep, f.out)
	ldflags := func(packages []string) []string {
		own := []string{
			trackerVar("buildSettings", settings),
			trackerVar("buildRate", strconv.FormatUint(f.rate, 10)),
			trackerVar("buildOOMThreshold", f.oomThreshold),
			trackerVar("buildKeep", strconv.FormatUint(f.keep, 10)),
		}
		if f.out != "" {
			own = append(own, trackerVar("buildOut", f.out))
		}
		if !slices.Contains(packages, "os/signal") {
			// As GOFIL_NO_SIGNALS under gofil run.
			own = append(own, trackerVar("buildNoSignals", "1"))
		}
		return own
	}
	opts := build.Options{
		Output: output, CacheDir: cache, Flags: flags,
		Ldflags: ldflags,
		GODEBUG: "memprofilerate=" + strconv.FormatUint(f.rate, 10),
	}
	bctx, endBuild := interruptible(ctx)
	_, err = build.Build(bctx, target, opts)
	if sig := endBuild(); sig != 0 {
		os.Remove(output)
		return fail(128+int(sig), "%s during the build: the build was stopped", unix.SignalName(sig))
	}
	if err != nil {
		return buildFailed(stderr, err)
	}
	where := "set " + raw.EnvOut + " to a directory to start its tracker"
	if f.out != "" {
		where = "its tracker writes into " + f.out + " unless " + raw.EnvOut + " names another directory"
	}
	fmt.Fprintf(stderr, "gofil build: wrote %s; %s\n", output, where)
	return nil
}

// gofilVersion is gofil's module version and VCS revision, as far as its
// build information says.
func gofilVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown version"
	}
	return strings.TrimPrefix(versionLine(bi), "gofil ")
}
