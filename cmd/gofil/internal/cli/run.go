package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gofil/gofil/cmd/gofil/internal/build"
	"github.com/gofil/gofil/cmd/gofil/internal/cgroup"
	"github.com/gofil/gofil/cmd/gofil/internal/cmdline"
	"github.com/gofil/gofil/cmd/gofil/internal/runner"
	"github.com/gofil/gofil/internal/privtmp"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/oomguard"
	"github.com/gofil/gofil/report"
	"github.com/gofil/gofil/report/rundir"
)

const runUsage = `Usage: gofil run [flags] PACKAGE[@VERSION] | FILE.go... | BINARY [-- ARGS...]

Builds the program with gofil's tracker (your files are not modified), runs
it with your stdin, stdout, stderr, environment and working directory, and
writes a report of the moment the Go heap was largest. gofil exits with the
program's exit code (128+signal when a signal ended it). SIGINT, SIGTERM,
SIGHUP and SIGQUIT are passed on to the program; once it has ended, the
first of them leaves gofil to finish the report, a second cuts the report
short (gofil says so, and still exits with the program's exit code).

Flags:
  -o DIR          report directory (default: gofil-result/<time>-<name>)
  --rate BYTES    heap sampling rate: on average one sample per BYTES
                  allocated (default 64K); lower is more exact and slower
  --memory-limit SIZE
                  run the program in a new memory cgroup with this limit
                  (e.g. 300M, 2G), as a container would; needs root or a
                  delegated cgroup
  --oom-threshold FRAC
                  write an emergency report when memory use crosses FRAC of
                  the limit (default 0.9), and again closer to it; "off"
                  disables it
  --tags TAGS     build tags, as for go build
  --build-flag F  a further go build flag (repeatable), e.g. --build-flag=-race
  --rebuild       build the program afresh, neither using nor keeping the
                  binary gofil keeps for the next run of the same program
`

// DefaultRate is the default heap sampling rate. testdata's accuracy tests
// hold every function with 5% or more of the peak to ±5% at this rate.
const DefaultRate = 64 << 10

type runFlags struct {
	out          string
	rate         uint64
	tags         string
	buildFlags   []string
	memoryLimit  uint64
	oomThreshold string
	rebuild      bool
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func parseRunFlags(args []string) (runFlags, []string, []string, error) {
	var f runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.out, "o", "", "")
	rate := fs.String("rate", "", "")
	fs.StringVar(&f.tags, "tags", "", "")
	var bf multiFlag
	fs.Var(&bf, "build-flag", "")
	limit := fs.String("memory-limit", "", "")
	fs.StringVar(&f.oomThreshold, "oom-threshold", "0.9", "")
	fs.BoolVar(&f.rebuild, "rebuild", false, "")
	// gofil's own flags and the target may come in any order before "--";
	// what follows it is the program's.
	own, progArgs := args, []string(nil)
	for i, a := range args {
		if a == "--" {
			own, progArgs = args[:i], args[i+1:]
			break
		}
	}
	target, err := cmdline.Interleaved(fs, own)
	if err != nil {
		return f, nil, nil, err
	}
	f.buildFlags = bf
	f.rate = DefaultRate
	if *rate != "" {
		if f.rate, err = parseRate(*rate); err != nil {
			return f, nil, nil, err
		}
	}
	if *limit != "" {
		l, err := parseSize(*limit)
		if err != nil {
			return f, nil, nil, fmt.Errorf("--memory-limit: %w", err)
		}
		if l < 4<<20 {
			return f, nil, nil, fmt.Errorf("--memory-limit must be at least 4M")
		}
		f.memoryLimit = l
	}
	if err := checkThreshold(f.oomThreshold); err != nil {
		return f, nil, nil, err
	}
	return f, target, progArgs, nil
}

// parseRate parses --rate: a size between 1 and 1G bytes.
func parseRate(s string) (uint64, error) {
	r, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("--rate: %w", err)
	}
	if r < 1 || r > 1<<30 {
		return 0, fmt.Errorf("--rate must be between 1 and 1G bytes")
	}
	return r, nil
}

// checkThreshold checks --oom-threshold: a fraction between 0 and 1, or
// "off".
func checkThreshold(s string) error {
	if _, ok := oomguard.ParseThreshold(s); !ok {
		return fmt.Errorf("--oom-threshold must be a fraction between 0 and 1, or off")
	}
	return nil
}

func runCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f, targetArgs, progArgs, err := parseRunFlags(args)
	if err != nil {
		return fail(exitBadInput, "%v (see 'gofil help run')", err)
	}
	if len(targetArgs) == 0 {
		return fail(exitBadInput, "nothing to run: give a package, .go files or a binary (see 'gofil help run')")
	}
	target, err := build.Resolve(targetArgs)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	outDir := f.out
	if outDir == "" {
		outDir = defaultOutDir(targetArgs[0], time.Now())
	}
	discard, err := makeOutDir(outDir)
	if err != nil {
		return fail(exitBadInput, "-o %s: %v", outDir, err)
	}
	// Until the program starts, a failure leaves nothing behind.
	started := false
	defer func() {
		if !started {
			discard()
		}
	}()
	if f.memoryLimit > 0 {
		if err := cgroup.Available(); err != nil {
			return fail(exitBadInput, "--memory-limit: %v", err)
		}
	}

	binary := target.Binary
	var packages []string
	if binary == "" {
		cache, err := buildCache()
		if err != nil {
			return fail(exitBadInput, "%v", err)
		}
		// The program is built into the private cache, not the user's
		// TMPDIR, which may be shared: gofil runs what it finds there.
		privtmp.Sweep(cache, tmpPrefix)
		tmp, err := privtmp.MakeTemp(cache, tmpPrefix)
		if err != nil {
			return fail(exitBadInput, "%v", err)
		}
		defer tmp.Remove()
		binary = filepath.Join(tmp.Dir, programName(targetArgs[0]))
		flags := append([]string{}, f.buildFlags...)
		if f.tags != "" {
			flags = append(flags, "-tags="+f.tags)
		}
		bctx, endBuild := interruptible(ctx)
		opts := build.Options{Output: binary, CacheDir: cache, Flags: flags}
		if !f.rebuild {
			opts.Binaries = filepath.Join(cache, binariesDir)
		}
		packages, err = build.Build(bctx, target, opts)
		if sig := endBuild(); sig != 0 {
			return fail(128+int(sig), "%s during the build: the build was stopped and what it wrote removed", unix.SignalName(sig))
		}
		if err != nil {
			return buildFailed(stderr, err)
		}
	}

	var group *cgroup.Group
	if f.memoryLimit > 0 {
		group, err = cgroup.New(strconv.Itoa(os.Getpid()), f.memoryLimit)
		if err != nil {
			return fail(exitBadInput, "--memory-limit: %v", err)
		}
		defer group.Remove()
	}
	oomKills := oomCounter(group)
	killsBefore, _ := oomKills()

	rawDir := filepath.Join(outDir, rundir.RawDir)
	if err := os.Mkdir(rawDir, 0o700); err != nil {
		return fail(exitBadInput, "-o %s: %v", outDir, err)
	}
	if packages != nil {
		if err := rundir.WritePackages(rawDir, packages); err != nil {
			return fail(exitBadInput, "%v", err)
		}
	}
	absRaw, err := filepath.Abs(rawDir)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	userG, userSet := runner.UserGODEBUG()
	os.Unsetenv(runner.EnvProgramGODEBUG) // the program inherits the environment
	env := []string{
		raw.EnvDir + "=" + absRaw,
		"GODEBUG=" + godebug(userG, f.rate),
		raw.EnvOOMThreshold + "=" + f.oomThreshold,
		raw.EnvUserGODEBUG + "=unset",
	}
	if userSet {
		env[len(env)-1] = raw.EnvUserGODEBUG + "=set:" + userG
	}
	if os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		// Socket activation started gofil: its sockets are passed on
		// at the same numbers, and the tracker names the program in
		// LISTEN_PID, whose pid gofil cannot know before it starts.
		env = append(env, raw.EnvListenPID+"=1")
	}
	if packages != nil && !slices.Contains(packages, "os/signal") {
		// The program cannot catch a signal: the tracker catches none
		// either, so that a deadlock ends it as without gofil.
		env = append(env, raw.EnvNoSignals+"=1")
	}
	if target.Binary != "" {
		env = env[:0]
		if userSet {
			env = append(env, "GODEBUG="+userG)
		}
	}
	// Caught from here until gofil exits: while the program runs the
	// runner passes them on, after it the report is finished (see
	// afterEnd). Never released: one arriving between a release and the
	// exit would end gofil by its default action, the program's exit
	// code unsaid.
	sigc := make(chan os.Signal, 8)
	runner.NotifyUnignored(sigc, runner.ForwardedSignals...)
	cfg := runner.Config{
		Path: binary, Args: progArgs, Env: env,
		Stdin: stdin, Stdout: term.Unescaped(stdout), Stderr: term.Unescaped(stderr),
		Reports:   target.Binary == "",
		Signals:   sigc,
		Inherited: runner.InheritedFrom(ctx).Files,
	}
	if group != nil {
		cfg.StartHook = group.StartInside
	}
	res, err := runner.Run(ctx, cfg)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	started = true
	cut := afterEnd(sigc, stderr)
	rundir.RemoveTemps(rawDir)
	meta := rundir.Meta{
		Command:     append([]string{targetArgs[0]}, progArgs...),
		Target:      strings.Join(targetArgs, " "),
		Binary:      filepath.Base(binary),
		Started:     res.Started,
		Duration:    res.Duration,
		ExitCode:    res.ExitCode,
		MaxRSS:      res.MaxRSS,
		HighWater:   res.HighWater,
		NoSource:    target.Binary != "",
		MemoryLimit: f.memoryLimit,
		TrackerGone: res.TrackerGone,
	}
	if res.Signal != 0 {
		meta.Signal = unix.SignalName(res.Signal)
		killsAfter, err := oomKills()
		if res.Signal == unix.SIGKILL && err == nil && killsAfter > killsBefore {
			meta.OOMKilled = true
			fmt.Fprintf(stderr, "gofil: the program was killed by the out-of-memory killer\n")
		} else {
			fmt.Fprintf(stderr, "gofil: the program was %s\n", res.Describe())
		}
	}
	for _, p := range res.Timeline {
		meta.RSS = append(meta.RSS, rundir.RSSPoint{At: p.At, RSS: p.RSS})
	}
	// What gofil knew of the program is on disk before a signal can cut
	// the report short: gofil report DIR needs it to write the report.
	if err := rundir.WriteMeta(rawDir, meta); err != nil {
		fmt.Fprintf(stderr, "gofil run: %v\n", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		finishReport(outDir, rawDir, meta, res.Reports, stderr)
	}()
	select {
	case <-done:
	case sig := <-cut:
		// The report is left as it is, marked so; the program's data
		// stays in raw/ for gofil report. gofil exits with the program's
		// exit code all the same: the program ran to its end.
		fmt.Fprintf(stderr, "gofil run: %s, a second signal: the report was cut short (gofil report %s writes it again)\n", unix.SignalName(sig), outDir)
		report.MarkIncomplete(outDir, fmt.Errorf("a second signal, %s, cut it short; gofil report DIR writes it again", unix.SignalName(sig)))
	}
	return exitWith(res.ExitCode)
}

// afterEnd takes the signals gofil receives once the program has ended:
// they no longer have anyone to go to, and ending gofil by one would lose
// the report and the program's exit code. The first is noted and the
// report finished; the second is sent on cut, to cut the report short.
func afterEnd(sigc <-chan os.Signal, stderr io.Writer) <-chan syscall.Signal {
	cut := make(chan syscall.Signal, 1)
	go func() {
		n := 0
		for sig := range sigc {
			s, _ := sig.(syscall.Signal)
			n++
			if n == 1 {
				fmt.Fprintf(stderr, "gofil run: %s: the program has ended; gofil finishes its report (a second signal cuts it short)\n", unix.SignalName(s))
				continue
			}
			cut <- s
			return
		}
	}()
	return cut
}

// finishReport says what the tracker reported and writes the report.
func finishReport(outDir, rawDir string, meta rundir.Meta, reports []string, stderr io.Writer) {
	for _, line := range reports {
		fmt.Fprintf(stderr, "gofil run: the tracker: %s\n", line)
	}
	if err := writeReport(outDir, rawDir, meta, stderr); err != nil {
		// The program's exit code wins: what went wrong is said, and
		// written into the report when it can be.
		fmt.Fprintf(stderr, "gofil run: the report is not complete: %v\n", err)
		report.MarkIncomplete(outDir, err)
	}
}

func writeReport(outDir, rawDir string, meta rundir.Meta, stderr io.Writer) error {
	defer prestartGraphviz(rawDir)()
	run, err := rundir.Load(rawDir)
	if err != nil {
		return fail(exitReport, "reading the tracker's data: %v", err)
	}
	res := run.Leaks(meta.Started)
	s, err := report.WriteDir(outDir, meta, run, res)
	if err != nil {
		return fail(exitReport, "writing the report: %v", err)
	}
	report.Text(stderr, s, outDir)
	switch {
	case res == nil:
	case strings.HasPrefix(s.ExitPath, "signal") || (meta.Signal != "" && !meta.OOMKilled):
		// A program stopped by a signal is most likely a server: say what
		// kept growing, or that nothing did.
		report.LeaksText(stderr, res, 5)
	case len(res.Suspects) > 0:
		// A job that ended on its own grows until it is done: its data,
		// most likely, not leaks. Say where to look, not more.
		sites := fmt.Sprintf("%d allocation sites", len(res.Suspects))
		if len(res.Suspects) == 1 {
			sites = "1 allocation site"
		}
		fmt.Fprintf(stderr, "gofil: %s kept growing until the program ended (its data, or leaks): %s\n",
			sites, filepath.Join(outDir, rundir.LeaksFile))
	}
	return nil
}

// oomCounter returns a function that reads the out-of-memory kill count of
// the cgroup whose limit applies to the program: the group gofil made, or
// the one gofil itself runs in (a container's).
func oomCounter(group *cgroup.Group) func() (uint64, error) {
	if group != nil {
		return group.OOMKills
	}
	lim, err := oomguard.DetectLimit()
	if err != nil || !strings.HasPrefix(lim.Source, "cgroup") {
		return func() (uint64, error) { return 0, errors.New("no memory cgroup") }
	}
	dir := filepath.Dir(lim.UsagePath)
	return func() (uint64, error) { return cgroup.OOMKillsIn(dir) }
}

// godebug adds memprofilerate to the user's GODEBUG, replacing any value
// they set for it.
func godebug(user string, rate uint64) string {
	var parts []string
	for _, p := range strings.Split(user, ",") {
		if p != "" && !strings.HasPrefix(p, "memprofilerate=") {
			parts = append(parts, p)
		}
	}
	parts = append(parts, "memprofilerate="+strconv.FormatUint(rate, 10))
	return strings.Join(parts, ",")
}

// programName names the program after what the user named: a file, a
// directory, or a package path, whose version (pkg@version) is left out.
func programName(arg string) string {
	if _, err := os.Stat(arg); err != nil {
		arg, _, _ = strings.Cut(arg, "@")
	}
	base := filepath.Base(strings.TrimSuffix(arg, "/"))
	base = strings.TrimSuffix(base, ".go")
	if base == "." || base == "" || base == "/" {
		if wd, err := os.Getwd(); err == nil {
			base = filepath.Base(wd)
		}
	}
	return base
}

func defaultOutDir(arg string, now time.Time) string {
	base := filepath.Join("gofil-result", now.Format("20060102-150405")+"-"+programName(arg))
	dir := base
	for i := 2; ; i++ {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return dir
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

// tmpPrefix begins the name of the directory a run's program is built
// into.
const tmpPrefix = "gofil-run-"

// binariesDir is the directory in the cache where programs built with the
// tracker are kept for their next run.
const binariesDir = "bin"

// makeOutDir makes the report directory dir, 0700, before anything else is
// done, so that nothing can be put in its place meanwhile. An existing dir
// is taken only if it is an empty directory, not a link, of the user's own,
// that no one else can write. discard removes what makeOutDir made: dir,
// or what is in the existing one.
func makeOutDir(dir string) (discard func(), err error) {
	entries, exists, err := ownDirEntries(dir)
	switch {
	case exists:
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			return nil, errors.New("exists and is not empty; name a new directory")
		}
		if unix.Access(dir, unix.W_OK) != nil {
			return nil, errors.New("not writable")
		}
		return func() {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}, nil
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return nil, err
	}
	if err := checkWritable(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, errors.New("appeared while gofil was starting; name a new directory")
		}
		return nil, err
	}
	return func() { os.RemoveAll(dir) }, nil
}

// ownDirEntries reads dir if something is there (exists): it must be a
// directory, not a link, of the user's own, that no one else can write
// (privtmp.Check). Without anything there, err is Lstat's.
func ownDirEntries(dir string) (entries []fs.DirEntry, exists bool, err error) {
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, false, err
	}
	if !st.IsDir() {
		return nil, true, errors.New("exists and is not a directory")
	}
	if err := privtmp.Check(dir); err != nil {
		return nil, true, err
	}
	entries, err = os.ReadDir(dir)
	return entries, true, err
}

// checkWritable makes sure dir can be created or, if it exists, is an empty
// directory gofil can write to, without creating anything.
func checkWritable(dir string) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return errors.New("exists and is not a directory")
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return errors.New("exists and is not empty; name a new directory")
		}
		if unix.Access(dir, unix.W_OK) != nil {
			return errors.New("not writable")
		}
		return nil
	}
	parent := filepath.Dir(filepath.Clean(dir))
	for {
		st, err := os.Stat(parent)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", parent)
			}
			if unix.Access(parent, unix.W_OK) != nil {
				return fmt.Errorf("%s is not writable", parent)
			}
			return nil
		}
		next := filepath.Dir(parent)
		if next == parent {
			return err
		}
		parent = next
	}
}

// interruptible returns a context that SIGINT, SIGTERM or SIGHUP (those not
// ignored) cancel, for the build, and the function that ends it and says
// which signal came, 0 if none. gofil then stops the build and removes what
// it wrote before it exits, as killed by that signal.
func interruptible(ctx context.Context) (context.Context, func() syscall.Signal) {
	ctx, cancel := context.WithCancel(ctx)
	sigc := make(chan os.Signal, 1)
	runner.NotifyUnignored(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	var got syscall.Signal
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case s := <-sigc:
			got, _ = s.(syscall.Signal)
			cancel()
		case <-done:
		}
	}()
	return ctx, func() syscall.Signal {
		signal.Stop(sigc)
		close(done)
		<-finished
		cancel()
		return got
	}
}

// buildFailed is the error of a build that failed: the compiler's output
// on stderr, if any, then one line.
func buildFailed(stderr io.Writer, err error) error {
	var be *build.Error
	if errors.As(err, &be) {
		if be.Output != "" {
			fmt.Fprint(stderr, strings.TrimRight(be.Output, "\n")+"\n")
		}
		return fail(exitBadInput, "%s", be.Msg)
	}
	return fail(exitBadInput, "%v", err)
}
