package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gofil/gofil/cmd/gofil/internal/cmdline"
	"github.com/gofil/gofil/internal/dotsvg"
	"github.com/gofil/gofil/internal/privtmp"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/regfile"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

const reportUsage = `Usage: gofil report [--open] [-o DIR] DIR | PROFILE
       gofil report --at DURATION [-o DIR] DIR
       gofil report RUNS

Writes a report's interactive page, index.html, again.

Given a report directory written by 'gofil run', or a run directory a
program built by 'gofil build' made, it reads the tracker's data in
DIR/raw and writes index.html, peak.pb.gz, peak.folded and summary.json
again (into DIR, or into -o DIR).

Given RUNS, a directory of such run directories (the program's
GOFIL_OUT), it lists them, newest first, one line each: the run
directory's name, the heap at its peak, and how the run ended ("running"
while its process lives). It renders no page.

Given a heap profile written by runtime/pprof or net/http/pprof
(/debug/pprof/heap), it writes a report of the heap in use when the profile
was taken into PROFILE's name without .pb.gz followed by -report, beside
it, or into -o DIR. Such a profile has no timeline: it is one moment.

With --at, it writes only the heap at the GC mark nearest DURATION into
the run (1.5s, 250ms): heap-at-DURATION.pb.gz, a pprof heap profile, in
DIR or -o DIR, and says which mark it is. The tracker keeps the heap at up
to 63 marks spread evenly over the run, and at the peak's and the last.

Flags:
  -o DIR   report directory; it must be new, empty or a report directory
  --open   open index.html in the default browser (xdg-open, or open on macOS)
  --at D   the heap at the GC mark nearest D into the run, as a pprof profile
`

// reportGCPercent is the GOGC gofil report runs with, unless GOGC is set.
const reportGCPercent = 50

type reportFlags struct {
	out   string
	open  bool
	arg   string
	at    time.Duration
	hasAt bool
}

// parseReportFlags accepts flags before and after the one argument.
func parseReportFlags(args []string) (reportFlags, error) {
	var f reportFlags
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.out, "o", "", "")
	fs.BoolVar(&f.open, "open", false, "")
	var at string
	fs.StringVar(&at, "at", "", "")
	rest, err := cmdline.Interleaved(fs, args)
	if err != nil {
		return f, err
	}
	if at != "" {
		d, err := time.ParseDuration(at)
		if err != nil || d < 0 {
			return f, fmt.Errorf("--at %s: give a duration into the run, such as 1.5s or 250ms", at)
		}
		f.at, f.hasAt = d, true
	}
	switch len(rest) {
	case 0:
		return f, errors.New("give a report directory or a heap profile")
	case 1:
		f.arg = rest[0]
	default:
		return f, fmt.Errorf("one report directory or profile at a time, not %d", len(rest))
	}
	return f, nil
}

// reportCommand implements `gofil report [--open] [-o DIR] DIR | PROFILE`.
func reportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseReportFlags(args)
	if err != nil {
		return fail(exitBadInput, "%s (see 'gofil help report')", term.OneLine(err))
	}
	st, err := os.Stat(f.arg)
	if err != nil {
		return fail(exitBadInput, "%s", term.OneLine(err))
	}
	if runs := report.RunDirs(st, f.arg); len(runs) > 0 {
		if f.out != "" || f.open || f.hasAt {
			return fail(exitBadInput, "%s holds %d run directories: give one of them for -o, --open or --at (gofil report %s)", f.arg, len(runs), filepath.Join(f.arg, runs[0]))
		}
		return listRuns(f.arg, runs, stdout, stderr)
	}
	if f.hasAt {
		if f.open {
			return fail(exitBadInput, "--open and --at: --at writes a profile, not a page (see 'gofil help report')")
		}
		if !st.IsDir() {
			return fail(exitBadInput, "--at needs a report directory written by 'gofil run', not a profile: a profile is one moment")
		}
		return reportAt(f, stdout, stderr)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		// A report holds a run's heaps while it makes their views, which
		// are garbage soon after: collecting when the heap has grown by
		// half what is live, not all of it, keeps gofil's own peak near
		// 1.5 times what it holds, for about the same CPU time (on a run
		// of 131,072 stacks: 0.36 to 0.41 GB, not 0.46 to 0.56).
		defer debug.SetGCPercent(debug.SetGCPercent(reportGCPercent))
	}
	var outDir string
	if st.IsDir() {
		outDir, err = reportFromDir(f, stderr)
	} else {
		outDir, err = reportFromProfile(f, stderr)
	}
	if err != nil {
		return err
	}
	page := filepath.Join(outDir, rundir.HTMLFile)
	if f.open {
		openPage(ctx, page, stderr)
	}
	fmt.Fprintln(stdout, page)
	return nil
}

// loadRunDir reads the run directory dir that 'gofil run' wrote: the
// tracker's data in dir/raw and the run's facts. hint ends the line said
// when dir is not one.
func loadRunDir(dir, hint string) (*rundir.Run, rundir.Meta, error) {
	rawDir := filepath.Join(dir, rundir.RawDir)
	if st, err := os.Stat(rawDir); err != nil || !st.IsDir() {
		return nil, rundir.Meta{}, fail(exitBadInput, "%s is not a gofil report directory: it has no %s/%s", dir, rundir.RawDir, hint)
	}
	run, err := rundir.Load(rawDir)
	if err != nil {
		return nil, rundir.Meta{}, fail(exitBadInput, "reading %s: %s", rawDir, term.OneLine(err))
	}
	meta, err := metaFromDir(dir, run)
	if err != nil {
		return nil, rundir.Meta{}, fail(exitBadInput, "%s", term.OneLine(err))
	}
	return run, meta, nil
}

// reportAt writes the heap at the GC mark nearest f.at as a pprof profile.
func reportAt(f reportFlags, stdout, stderr io.Writer) error {
	run, meta, err := loadRunDir(f.arg, "")
	if err != nil {
		return err
	}
	m, ok := run.MarkNear(f.at)
	if !ok {
		return fail(exitBadInput, "%s holds no heap at any GC mark (%s is missing: a report of an older gofil, or a run that ended before its first GC)", f.arg, filepath.Join(rundir.RawDir, raw.MomentsFile))
	}
	outDir := f.arg
	if f.out != "" {
		outDir = f.out
		if err := privtmp.MakePrivate(outDir); err != nil {
			return fail(exitBadInput, "-o %s: %s", outDir, term.OneLine(err))
		}
	}
	var buf bytes.Buffer
	if err := heap.WriteProfile(&buf, m.Heap, meta.Started, meta.Binary); err != nil {
		return fail(exitReport, "%s", term.OneLine(err))
	}
	name := "heap-at-" + f.at.String() + ".pb.gz"
	if err := raw.WriteFile(outDir, name, buf.Bytes()); err != nil {
		return fail(exitReport, "%s", term.OneLine(err))
	}
	exact := "unknown"
	if m.Exact > 0 {
		exact = units.Bytes(int64(m.Exact))
	}
	fmt.Fprintf(stderr, "gofil: heap at GC %d's mark, %.3fs into the run (the mark nearest %v): %s sampled (runtime: %s), of which %s live\n",
		m.Cycle, m.At.Seconds(), f.at, units.Bytes(m.Heap.Bytes), exact, units.Bytes(m.Heap.LiveBytes()))
	fmt.Fprintln(stdout, filepath.Join(outDir, name))
	return nil
}

// prestartGraphviz starts the call graph's layout helper when rawDir holds
// a peak, whose page draws one: the helper's set-up, a few tenths of a
// second, then overlaps the reading of the tracker's data as well as the
// files written before the page. stop ends the helper if the page did not
// use it.
func prestartGraphviz(rawDir string) (stop func()) {
	if st, err := os.Lstat(filepath.Join(rawDir, raw.PeakFile)); err != nil || !st.Mode().IsRegular() {
		return func() {}
	}
	return dotsvg.Prestart(context.Background())
}

// reportFromDir renders a gofil run directory again.
func reportFromDir(f reportFlags, stderr io.Writer) (string, error) {
	dir := f.arg
	defer prestartGraphviz(filepath.Join(dir, rundir.RawDir))()
	// Read before -o is prepared: a directory that is not a run's costs
	// nothing in -o.
	run, meta, err := loadRunDir(dir, " (give the directory 'gofil run' wrote, or a heap profile)")
	if err != nil {
		return "", err
	}
	outDir := dir
	if f.out != "" && !sameDir(f.out, dir) {
		outDir = f.out
		if err := prepareReportDir(outDir); err != nil {
			return "", fail(exitBadInput, "-o %s: %s", outDir, term.OneLine(err))
		}
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return "", fail(exitReport, "%s", term.OneLine(err))
	}
	s, err := report.WriteDir(outDir, meta, run, nil)
	if err != nil {
		return "", fail(exitReport, "%s", term.OneLine(err))
	}
	report.Text(stderr, s, outDir)
	return outDir, nil
}

// metaFromDir gives back what `gofil run` knew of the program from outside:
// raw/meta.json and rss.tsv; for a production run, which has neither, what
// its tracker recorded; or for a report written before meta.json, the
// directory's summary.json, its peak.pb.gz and rss.tsv. Each may be
// missing; what they held is then not known.
func metaFromDir(dir string, run *rundir.Run) (rundir.Meta, error) {
	meta, ok, err := rundir.ReadMeta(filepath.Join(dir, rundir.RawDir))
	if err != nil {
		return meta, err
	}
	if !ok && run.Start != nil && run.Start.Production {
		// No gofil ran the program: what its tracker recorded is all.
		return rundir.ProductionMeta(run), nil
	}
	if ok {
		// What gofil run recorded, and its RSS readings.
		if rss, err := rundir.ReadRSS(dir); err == nil {
			meta.RSS = rss
		} else if !errors.Is(err, fs.ErrNotExist) {
			return meta, err
		}
		return meta, nil
	}
	// A report from before raw/meta.json: what summary.json says.
	var old summary.Summary
	data, err := regfile.ReadLimited(filepath.Join(dir, rundir.SummaryFile), regfile.MaxInputBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		meta.Notes = []string{rundir.SummaryFile + " was missing when this report was written again: the command and how it ended are not known"}
		meta.EndUnknown = true
	case err != nil:
		return meta, err
	default:
		if err := json.Unmarshal(data, &old); err != nil {
			return meta, fmt.Errorf("%s: %w", filepath.Join(dir, rundir.SummaryFile), err)
		}
	}
	meta.Command = old.Command
	meta.Target = old.Target
	meta.ExitCode = old.ExitCode
	meta.Duration = time.Duration(old.DurationSeconds * float64(time.Second))
	meta.Signal, _ = strings.CutPrefix(old.Ended, "killed by ")
	if !strings.HasPrefix(meta.Signal, "SIG") {
		meta.Signal = ""
	}
	meta.OOMKilled = old.OOMKilled
	if old.OOMKilled {
		meta.Signal = "SIGKILL" // the kernel's OOM killer sends nothing else
	}
	if old.OOM != nil {
		meta.MemoryLimit = old.OOM.LimitBytes
	}
	if old.Peak != nil {
		meta.MaxRSS = old.Peak.RSSBytes
		meta.HighWater = old.Peak.RSSBytes
	}
	for _, n := range old.Notes {
		if strings.HasPrefix(n, "prebuilt binary:") {
			meta.NoSource = true
		}
	}
	if run.Start != nil {
		meta.Started = time.Unix(0, run.Start.StartUnix)
	}
	if p, err := heap.ReadProfile(filepath.Join(dir, rundir.PeakProfile)); err == nil {
		if len(p.Mapping) > 0 {
			meta.Binary = p.Mapping[0].File
		}
		if p.TimeNanos != 0 && run.Peak != nil {
			meta.Started = time.Unix(0, p.TimeNanos).Add(-time.Duration(run.Peak.Raw.AtNS))
		}
	}
	if rss, err := rundir.ReadRSS(dir); err == nil {
		meta.RSS = rss
	} else if !errors.Is(err, fs.ErrNotExist) {
		return meta, err
	}
	// Keep the notes `gofil run` added of its own; Build adds the others
	// again.
	built := summary.Build(meta, run)
	for _, n := range old.Notes {
		if !slices.Contains(built.Notes, n) {
			meta.Notes = append(meta.Notes, n)
		}
	}
	return meta, nil
}

// reportFromProfile writes a report of a heap profile written by
// runtime/pprof or net/http/pprof.
func reportFromProfile(f reportFlags, stderr io.Writer) (string, error) {
	p, err := heap.ReadProfile(f.arg)
	if err != nil {
		return "", fail(exitBadInput, "%s is neither a report directory nor a pprof profile: %s", f.arg, term.OneLine(err))
	}
	p, _ = heap.Clean(p, nil)
	h, err := heap.FromProfile(p)
	if err != nil {
		return "", fail(exitBadInput, "%s: %s", f.arg, term.OneLine(err))
	}
	outDir := f.out
	if outDir == "" {
		outDir = defaultProfileReportDir(f.arg)
	}
	if err := prepareReportDir(outDir); err != nil {
		return "", fail(exitBadInput, "%s: %s", outDir, term.OneLine(err))
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return "", fail(exitReport, "%s", term.OneLine(err))
	}
	s, err := report.WriteProfileDir(outDir, f.arg, p, h)
	if err != nil {
		return "", fail(exitReport, "%s", term.OneLine(err))
	}
	fmt.Fprintf(stderr, "gofil: heap profile %s: %s in use in %s objects\n", f.arg, units.Bytes(h.Bytes), units.Grouped(h.Objects))
	n := min(len(s.Top), 10)
	if n > 0 {
		fmt.Fprintf(stderr, "gofil: largest allocation sites:\n")
	}
	for _, site := range s.Top[:n] {
		fmt.Fprintf(stderr, "  %10s %5.1f%%  %s  %s:%d\n", units.Bytes(site.Bytes), site.Percent, term.Name(site.Function), term.Name(site.File), site.Line)
	}
	fmt.Fprintf(stderr, "gofil: report: %s\n", outDir)
	return outDir, nil
}

// defaultProfileReportDir is PROFILE's name without its extension and with
// -report, beside it: heap.pb.gz gives heap-report.
func defaultProfileReportDir(path string) string {
	base := filepath.Base(path)
	for _, ext := range []string{".pb.gz", ".pprof.gz", ".gz", ".pb", ".pprof", ".prof"} {
		if t, ok := strings.CutSuffix(base, ext); ok {
			if t != "" {
				base = t
			}
			break
		}
	}
	return filepath.Join(filepath.Dir(path), base+"-report")
}

// prepareReportDir accepts a directory that does not exist yet, an empty
// one, or one holding an earlier report made from a profile, of the user's
// own: it removes the files of that report its manifest names, and only
// those, so that none is left beside the new report. A directory holding a
// run's data (raw/) is another run's report, and one without gofil's
// manifest is not gofil's: both are refused.
func prepareReportDir(dir string) error {
	entries, exists, err := ownDirEntries(dir)
	if !exists && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, rundir.RawDir)); err == nil {
		return errors.New("holds another run's report; name a new directory")
	}
	own, ok := report.OwnFiles(dir)
	if !ok {
		return fmt.Errorf("is not empty and gofil did not write it (it has no %s); name a new directory", report.ManifestFile)
	}
	for _, name := range own {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func sameDir(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// openPage opens page in the user's browser, or says where it is.
func openPage(ctx context.Context, page string, stderr io.Writer) {
	abs, err := filepath.Abs(page)
	if err == nil {
		page = abs
	}
	var tool string
	for _, name := range openers() {
		if p, err := exec.LookPath(name); err == nil {
			tool = p
			break
		}
	}
	if tool == "" {
		fmt.Fprintf(stderr, "gofil report: found no %s to open the report with; open %s in a browser\n", strings.Join(openers(), " or "), page)
		return
	}
	// Not tied to ctx: the browser it may start must outlive gofil.
	cmd := exec.Command(tool, page)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "gofil report: %s: %s; open %s in a browser\n", filepath.Base(tool), term.OneLine(err), page)
		return
	}
	// Some openers return at once, others only when the browser exits:
	// wait a little for an error, then leave the opener running.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(stderr, "gofil report: %s: %s; open %s in a browser\n", filepath.Base(tool), term.OneLine(err), page)
		}
	case <-time.After(3 * time.Second):
	case <-ctx.Done():
	}
}

func openers() []string {
	if runtime.GOOS == "darwin" {
		return []string{"open"}
	}
	return []string{"xdg-open", "open"}
}
