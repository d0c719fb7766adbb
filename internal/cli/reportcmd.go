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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report"
)

const reportUsage = `Usage: gofil report [--open] [-o DIR] DIR | PROFILE

Writes a report's interactive page, index.html, again.

Given a report directory written by 'gofil run', it reads the tracker's
data in DIR/raw and writes index.html, peak.pb.gz, peak.folded and
summary.json again (into DIR, or into -o DIR).

Given a heap profile written by runtime/pprof or net/http/pprof
(/debug/pprof/heap), it writes a report of the heap in use when the profile
was taken into PROFILE's name without .pb.gz followed by -report, beside
it, or into -o DIR. Such a profile has no timeline: it is one moment.

Flags:
  -o DIR   report directory; it must be new, empty or a report directory
  --open   open index.html in the default browser (xdg-open, or open on macOS)
`

// Exit codes of gofil report.
const (
	reportOK       = 0
	reportBadInput = 2
	reportFailed   = 3
)

type reportFlags struct {
	out  string
	open bool
	arg  string
}

// parseReportFlags accepts flags before and after the one argument.
func parseReportFlags(args []string) (reportFlags, error) {
	var f reportFlags
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.out, "o", "", "")
	fs.BoolVar(&f.open, "open", false, "")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return f, err
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
func reportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stdout, reportUsage)
			return reportOK
		}
	}
	f, err := parseReportFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "gofil report: %s (see 'gofil help report')\n", oneLine(err))
		return reportBadInput
	}
	st, err := os.Stat(f.arg)
	if err != nil {
		fmt.Fprintf(stderr, "gofil report: %s\n", oneLine(err))
		return reportBadInput
	}
	var outDir string
	var code int
	if st.IsDir() {
		outDir, code = reportFromDir(f, stderr)
	} else {
		outDir, code = reportFromProfile(f, stderr)
	}
	if code != reportOK {
		return code
	}
	page := filepath.Join(outDir, report.HTMLFile)
	if f.open {
		openPage(ctx, page, stderr)
	}
	fmt.Fprintln(stdout, page)
	return reportOK
}

// reportFromDir renders a gofil run directory again.
func reportFromDir(f reportFlags, stderr io.Writer) (string, int) {
	dir := f.arg
	rawDir := filepath.Join(dir, report.RawDir)
	if st, err := os.Stat(rawDir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "gofil report: %s is not a gofil report directory: it has no %s/ (give the directory 'gofil run' wrote, or a heap profile)\n", dir, report.RawDir)
		return "", reportBadInput
	}
	outDir := dir
	if f.out != "" && !sameDir(f.out, dir) {
		outDir = f.out
		if err := prepareReportDir(outDir); err != nil {
			fmt.Fprintf(stderr, "gofil report: -o %s: %s\n", outDir, oneLine(err))
			return "", reportBadInput
		}
	}
	run, err := report.Load(rawDir)
	if err != nil {
		fmt.Fprintf(stderr, "gofil report: reading %s: %s\n", rawDir, oneLine(err))
		return "", reportBadInput
	}
	meta, err := metaFromDir(dir, run)
	if err != nil {
		fmt.Fprintf(stderr, "gofil report: %s\n", oneLine(err))
		return "", reportBadInput
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "gofil report: %s\n", oneLine(err))
		return "", reportFailed
	}
	s, err := report.Write(outDir, meta, run)
	if err != nil {
		fmt.Fprintf(stderr, "gofil report: writing the report: %s\n", oneLine(err))
		return "", reportFailed
	}
	if err := writeHTMLReport(outDir, meta, s, run); err != nil {
		fmt.Fprintf(stderr, "gofil report: %s\n", oneLine(err))
		return "", reportFailed
	}
	report.Text(stderr, s, outDir)
	return outDir, reportOK
}

// metaFromDir gives back what `gofil run` knew of the program from outside:
// raw/meta.json and rss.tsv, or for a report written before meta.json, the
// directory's summary.json, its peak.pb.gz and rss.tsv. Each may be
// missing; what they held is then not known.
func metaFromDir(dir string, run *report.Run) (report.Meta, error) {
	meta, ok, err := report.ReadMeta(filepath.Join(dir, report.RawDir))
	if err != nil {
		return meta, err
	}
	if ok {
		// What gofil run recorded, and its RSS readings.
		if rss, err := report.ReadRSS(dir); err == nil {
			meta.RSS = rss
		} else if !errors.Is(err, fs.ErrNotExist) {
			return meta, err
		}
		return meta, nil
	}
	// A report from before raw/meta.json: what summary.json says.
	var old report.Summary
	data, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		meta.Notes = []string{report.SummaryFile + " was missing when this report was written again: the command and how it ended are not known"}
		meta.EndUnknown = true
	case err != nil:
		return meta, err
	default:
		if err := json.Unmarshal(data, &old); err != nil {
			return meta, fmt.Errorf("%s: %w", filepath.Join(dir, report.SummaryFile), err)
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
	if p, err := readProfile(filepath.Join(dir, report.PeakProfile)); err == nil {
		if len(p.Mapping) > 0 {
			meta.Binary = p.Mapping[0].File
		}
		if p.TimeNanos != 0 && run.Peak != nil {
			meta.Started = time.Unix(0, p.TimeNanos).Add(-time.Duration(run.Peak.Raw.AtNS))
		}
	}
	if rss, err := report.ReadRSS(dir); err == nil {
		meta.RSS = rss
	} else if !errors.Is(err, fs.ErrNotExist) {
		return meta, err
	}
	// Keep the notes `gofil run` added of its own; Build adds the others
	// again.
	built := report.Build(meta, run)
	for _, n := range old.Notes {
		if !slices.Contains(built.Notes, n) {
			meta.Notes = append(meta.Notes, n)
		}
	}
	return meta, nil
}

// readProfile reads a pprof profile: the protocol buffer, gzipped or not,
// or one of the legacy text formats, such as runtime/pprof's heap profile
// with debug=1, whose function names it takes from the comment lines.
func readProfile(path string) (*profile.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("heap profile:")) {
		symbolizeLegacy(p, data)
	}
	return p, nil
}

// symbolizeLegacy names the locations of a legacy text heap profile, whose
// parser keeps only their addresses, from the comment lines runtime/pprof
// writes under each sample, innermost inlined call first:
//
//	#	0x4d96c5	main.hold+0x45		/src/h.go:4
func symbolizeLegacy(p *profile.Profile, data []byte) {
	lines := map[uint64][]profile.Line{}
	funcs := map[[2]string]*profile.Function{}
	var prev uint64
	skip := false
	for _, text := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(text, "#\t0x") {
			prev = 0
			continue
		}
		var fields []string
		for _, f := range strings.Split(text, "\t")[1:] {
			if f != "" {
				fields = append(fields, f)
			}
		}
		if len(fields) != 3 {
			continue
		}
		addr, err := strconv.ParseUint(strings.TrimPrefix(fields[0], "0x"), 16, 64)
		if err != nil {
			continue
		}
		if addr != prev { // a new address; seen before under another sample?
			prev = addr
			_, skip = lines[addr]
		}
		if skip {
			continue
		}
		name := fields[1]
		if i := strings.LastIndex(name, "+0x"); i > 0 {
			name = name[:i]
		}
		file, line := fields[2], 0
		if i := strings.LastIndexByte(file, ':'); i > 0 {
			if n, err := strconv.Atoi(file[i+1:]); err == nil {
				file, line = file[:i], n
			}
		}
		fn := funcs[[2]string{name, file}]
		if fn == nil {
			fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: name, Filename: file}
			funcs[[2]string{name, file}] = fn
			p.Function = append(p.Function, fn)
		}
		lines[addr] = append(lines[addr], profile.Line{Function: fn, Line: int64(line)})
	}
	for _, loc := range p.Location {
		if len(loc.Line) > 0 {
			continue
		}
		// The parser has already moved each address back by one onto
		// its call; older parsers did not.
		if ls, ok := lines[loc.Address]; ok {
			loc.Line = ls
		} else if ls, ok := lines[loc.Address-1]; ok {
			loc.Line = ls
		}
	}
}

// reportFromProfile writes a report of a heap profile written by
// runtime/pprof or net/http/pprof.
func reportFromProfile(f reportFlags, stderr io.Writer) (string, int) {
	p, err := readProfile(f.arg)
	if err != nil {
		fmt.Fprintf(stderr, "gofil report: %s is neither a report directory nor a pprof profile: %s\n", f.arg, oneLine(err))
		return "", reportBadInput
	}
	h, err := heapFromProfile(p)
	if err != nil {
		fmt.Fprintf(stderr, "gofil report: %s: %s\n", f.arg, oneLine(err))
		return "", reportBadInput
	}
	outDir := f.out
	if outDir == "" {
		outDir = defaultProfileReportDir(f.arg)
	}
	if err := prepareReportDir(outDir); err != nil {
		fmt.Fprintf(stderr, "gofil report: %s: %s\n", outDir, oneLine(err))
		return "", reportBadInput
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "gofil report: %s\n", oneLine(err))
		return "", reportFailed
	}
	s := profileSummary(f.arg, p, h)
	run := &report.Run{Peak: h}
	if err := writeProfileReport(outDir, p, s, h); err != nil {
		fmt.Fprintf(stderr, "gofil report: writing the report: %s\n", oneLine(err))
		return "", reportFailed
	}
	if err := writeHTMLReport(outDir, report.Meta{}, s, run); err != nil {
		fmt.Fprintf(stderr, "gofil report: %s\n", oneLine(err))
		return "", reportFailed
	}
	fmt.Fprintf(stderr, "gofil: heap profile %s: %s in use in %s objects\n", f.arg, report.Bytes(h.Bytes), units.Grouped(h.Objects))
	n := min(len(s.Top), 10)
	if n > 0 {
		fmt.Fprintf(stderr, "gofil: largest allocation sites:\n")
	}
	for _, site := range s.Top[:n] {
		fmt.Fprintf(stderr, "  %10s %5.1f%%  %s  %s:%d\n", report.Bytes(site.Bytes), site.Percent, site.Function, site.File, site.Line)
	}
	fmt.Fprintf(stderr, "gofil: report: %s\n", outDir)
	return outDir, reportOK
}

// writeProfileReport writes the files of a profile's report beside
// index.html: the profile itself (gzipped, as peak.pb.gz, so that the
// page's pprof command works), the collapsed stacks and summary.json.
func writeProfileReport(dir string, p *profile.Profile, s *report.Summary, h *report.Heap) error {
	var pb strings.Builder
	if err := p.Write(&pb); err != nil {
		return fmt.Errorf("%s: %w", report.PeakProfile, err)
	}
	if err := raw.WriteFile(dir, report.PeakProfile, []byte(pb.String())); err != nil {
		return err
	}
	s.Files["profile"] = report.PeakProfile
	var folded strings.Builder
	if err := report.WriteFolded(&folded, h); err != nil {
		return fmt.Errorf("%s: %w", report.PeakFolded, err)
	}
	if err := raw.WriteFile(dir, report.PeakFolded, []byte(folded.String())); err != nil {
		return err
	}
	s.Files["folded"] = report.PeakFolded
	s.Files["summary"] = report.SummaryFile
	return writeSummary(dir, s)
}

// heapFromProfile builds the heap a heap profile holds: its inuse_space
// and inuse_objects samples, each stack root first with inlined calls as
// frames of their own.
func heapFromProfile(p *profile.Profile) (*report.Heap, error) {
	space, objects := -1, -1
	var types []string
	for i, st := range p.SampleType {
		types = append(types, st.Type+"/"+st.Unit)
		switch st.Type {
		case "inuse_space":
			space = i
		case "inuse_objects":
			objects = i
		}
	}
	if space < 0 && p.PeriodType != nil && p.PeriodType.Type == "space" {
		// A legacy text heap profile whose in-use and allocated totals
		// agree is parsed with the types objects and space only.
		for i, st := range p.SampleType {
			switch {
			case st.Type == "space" && st.Unit == "bytes":
				space = i
			case st.Type == "objects" && st.Unit == "count":
				objects = i
			}
		}
	}
	if space < 0 {
		return nil, fmt.Errorf("not a heap profile: it has no inuse_space samples (it has %s)", strings.Join(types, ", "))
	}
	h := &report.Heap{Raw: raw.Profile{Version: raw.Version, Reason: "pprof", Rate: int(p.Period)}}
	for _, smp := range p.Sample {
		if len(smp.Value) != len(p.SampleType) {
			return nil, fmt.Errorf("a sample has %d values for %d sample types", len(smp.Value), len(p.SampleType))
		}
		b := smp.Value[space]
		var n int64
		if objects >= 0 {
			n = smp.Value[objects]
		}
		if b < 0 || n < 0 {
			return nil, errors.New("negative inuse_space or inuse_objects: is it the difference of two profiles?")
		}
		if b == 0 {
			continue
		}
		var frames []report.Frame
		for _, fr := range leak.SampleFrames(smp) {
			if !report.HiddenFrame(fr.Func) {
				frames = append(frames, report.Frame{Func: fr.Func, File: fr.File, Line: fr.Line})
			}
		}
		h.Stacks = append(h.Stacks, report.Stack{
			Frames: frames, Bytes: b, Objects: n,
			Truncated: len(smp.Label["truncated"]) > 0,
		})
		h.Bytes += b
		h.Objects += n
	}
	h.Raw.Bytes, h.Raw.Objects = h.Bytes, h.Objects
	return h, nil
}

// profileSummary is summary.json for a heap profile: the heap in use when
// it was written, with no timeline, resident memory or exit status.
func profileSummary(path string, p *profile.Profile, h *report.Heap) *report.Summary {
	s := &report.Summary{
		Schema:          report.SchemaVersion,
		Command:         []string{},
		Target:          path,
		DurationSeconds: time.Duration(p.DurationNanos).Seconds(),
		SamplingRate:    int(p.Period),
		Peak: &report.PeakInfo{
			HeapBytes:   h.Bytes,
			HeapObjects: h.Objects,
			Moment:      "pprof",
		},
		Top:       []report.Site{},
		Functions: []report.Function{},
		Files:     map[string]string{},
	}
	note := "this report comes from a heap profile written by runtime/pprof or net/http/pprof, not from 'gofil run': it shows the heap in use as of the last GC before the profile was written, not the peak, and there is no timeline, resident memory or exit status"
	if p.TimeNanos != 0 {
		note += fmt.Sprintf(" (profile written %s)", time.Unix(0, p.TimeNanos).UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	s.Notes = []string{note}
	if sites := h.Sites(); len(sites) > 0 {
		s.Top = sites[:min(len(sites), 50)]
	}
	if fns := h.Functions(); len(fns) > 0 {
		s.Functions = fns[:min(len(fns), 100)]
	}
	return s
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
// one, or one holding an earlier report made from a profile, whose files it
// removes so that none of them is left beside the new report. A directory
// holding a run's data (raw/) is another run's report and is refused.
func prepareReportDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return errors.New("exists and is not a directory")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, report.RawDir)); err == nil {
		return errors.New("holds another run's report; name a new directory")
	}
	if _, err := os.Stat(filepath.Join(dir, report.SummaryFile)); err != nil {
		return errors.New("exists, is not empty and holds no report; name a new directory")
	}
	for _, name := range []string{report.HTMLFile, report.SummaryFile, report.PeakProfile, report.PeakFolded,
		report.OOMProfile, report.OOMFolded, report.RSSFile, report.LeaksFile} {
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

// writeHTMLReport completes a report directory that report.Write (or a
// profile's report) has written: it saves gofil's own RSS readings as
// rss.tsv, so that `gofil report DIR` can draw them again, writes
// index.html, and lists both in summary.json.
func writeHTMLReport(outDir string, meta report.Meta, s *report.Summary, run *report.Run) error {
	if len(meta.RSS) > 0 {
		if err := report.WriteRSS(outDir, meta.RSS); err != nil {
			return fmt.Errorf("writing %s: %w", report.RSSFile, err)
		}
		s.Files["rss"] = report.RSSFile
	}
	if err := report.WriteHTML(outDir, meta, s, run); err != nil {
		return fmt.Errorf("writing the report page: %w", err)
	}
	s.Files["html"] = report.HTMLFile
	return writeSummary(outDir, s)
}

func writeSummary(dir string, s *report.Summary) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return raw.WriteFile(dir, report.SummaryFile, append(data, '\n'))
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
		fmt.Fprintf(stderr, "gofil report: %s: %s; open %s in a browser\n", filepath.Base(tool), oneLine(err), page)
		return
	}
	// Some openers return at once, others only when the browser exits:
	// wait a little for an error, then leave the opener running.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(stderr, "gofil report: %s: %s; open %s in a browser\n", filepath.Base(tool), oneLine(err), page)
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

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
