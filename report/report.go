// Package report turns what the tracker left in a run directory into
// gofil's report: a pprof profile of the heap at the peak, collapsed stacks,
// a machine-readable summary and a short text summary.
package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/heapprof"
	"github.com/gofil/gofil/internal/pacer"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/regfile"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
)

// Files written into a report directory.
const (
	PeakProfile = "peak.pb.gz"
	PeakFolded  = "peak.folded"
	OOMProfile  = "oom.pb.gz"
	OOMFolded   = "oom.folded"
	SummaryFile = "summary.json"
	FlameSVG    = "peak.svg"
	IcicleSVG   = "peak-reversed.svg"
	RawDir      = "raw"
	// ManifestFile names the files gofil writes at the top of a report
	// directory, one per line: the only ones it replaces there later.
	ManifestFile = ".gofil-report"
)

// topFiles are the files a report directory may hold at its top.
var topFiles = []string{HTMLFile, SummaryFile, PeakProfile, PeakFolded, OOMProfile, OOMFolded,
	RSSFile, LeaksFile, FlameSVG, IcicleSVG, IncompleteFile}

// writeManifest records, before anything else is written into dir, the
// files a report may put there.
func writeManifest(dir string) error {
	return raw.WriteFile(dir, ManifestFile, []byte(strings.Join(topFiles, "\n")+"\n"))
}

// OwnFiles returns the files of dir's manifest that a report may hold: the
// ones gofil wrote there and may replace. ok is false when dir has no
// manifest, or one that is not gofil's.
func OwnFiles(dir string) (files []string, ok bool) {
	data, err := regfile.ReadLimited(filepath.Join(dir, ManifestFile), 4096)
	if err != nil {
		return nil, false
	}
	for _, name := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !slices.Contains(topFiles, name) {
			return nil, false
		}
		files = append(files, name)
	}
	return files, len(files) > 0
}

// Frame is one frame of an allocation stack: gofil's one frame type, the
// agent's.
type Frame = raw.Frame

// Stack is an allocation stack and what it held, root first.
type Stack struct {
	Frames      []Frame // root first
	Bytes       int64
	Objects     int64
	LiveBytes   int64
	LiveObjects int64
	Truncated   bool
}

// Heap is the heap at one moment, with the tracker's own allocations
// removed and gofil's wrapper frames hidden.
type Heap struct {
	Raw    raw.Profile
	Stacks []Stack
	// Bytes and Objects are the totals of Stacks.
	Bytes, Objects int64
	// TrackerBytes is what the tracker itself held, removed from Stacks.
	TrackerBytes int64
}

// TimelinePoint is one window of the tracker's timeline: the largest
// values seen in it.
type TimelinePoint struct {
	At         time.Duration
	Heap       uint64
	RSS        uint64
	GoMapped   uint64
	GoReleased uint64
	Cycles     uint32
	RSSAnon    uint64
}

// Outside is the resident memory the Go runtime does not account for.
func (p TimelinePoint) Outside() uint64 {
	goRes := p.GoMapped - p.GoReleased
	if p.GoReleased > p.GoMapped || goRes >= p.RSS {
		return 0
	}
	return p.RSS - goRes
}

// Run is everything the tracker wrote into a run directory.
type Run struct {
	Start    *raw.Start
	Exit     *raw.Exit
	Peak     *Heap
	OOM      *Heap
	Timeline []TimelinePoint
	// OOMWritten is when the last emergency dump reached the disk.
	OOMWritten time.Time
	// DumpTimes is, per trigger level, how long after the crossing its
	// first and refined dumps were on disk (0: not written), from the
	// tracker's dump log.
	DumpTimes map[int][2]time.Duration
	// History is the in-use heap per stack over the run.
	History *raw.History
	// RawMoments is the heap per stack at GC marks spread over the run, as
	// the tracker wrote it; Moments decodes it.
	RawMoments *raw.Moments
	// GCLog is the tracker's line per GC cycle, for the pacer's replay.
	GCLog *pacer.Log
	// Notes are what Load could not read of the optional files, for the
	// summary's notes.
	Notes []string
	// MomentsFileBytes and GCLogBytes are the sizes of those two files.
	MomentsFileBytes, GCLogBytes int64
	// Packages are the import paths of the packages the program links
	// without gofil's agent; nil if not known.
	Packages map[string]bool
}

// Load reads a run directory. Missing files leave their fields nil; a
// directory with none of the tracker's files is not an error either (the
// program may have died before the tracker wrote anything).
func Load(dir string) (*Run, error) {
	r := &Run{}
	pkgs, err := readPackages(filepath.Join(dir, PackagesFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	r.Packages = pkgs
	var st raw.Start
	if err := ReadRaw(dir, raw.StartFile, &st); err == nil {
		r.Start = &st
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var ex raw.Exit
	if err := ReadRaw(dir, raw.ExitFile, &ex); err == nil {
		r.Exit = &ex
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  **Heap
	}{{raw.PeakFile, &r.Peak}, {raw.OOMFile, &r.OOM}} {
		var p raw.Profile
		err := ReadRaw(dir, f.name, &p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		*f.dst = NewHeap(p, r.Packages)
	}
	if r.OOM != nil {
		if st, err := os.Stat(filepath.Join(dir, raw.OOMFile)); err == nil {
			r.OOMWritten = st.ModTime()
		}
	}
	if dt, err := readDumpLog(filepath.Join(dir, raw.DumpLogFile)); err == nil {
		r.DumpTimes = dt
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var hist raw.History
	if err := ReadRaw(dir, raw.HistoryFile, &hist); err == nil {
		r.History = &hist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// The moments and the GC log are for the page's other moments and
	// the what-if: one damaged leaves the rest of the report whole.
	var moments raw.Moments
	switch err := ReadRaw(dir, raw.MomentsFile, &moments); {
	case err == nil && len(moments.Moments) > maxMoments:
		r.Notes = append(r.Notes, fmt.Sprintf("%s holds %d moments, more than the %d the tracker writes: it was not read, and the page shows the heap at the peak only", raw.MomentsFile, len(moments.Moments), maxMoments))
	case err == nil:
		r.RawMoments = &moments
	case !errors.Is(err, fs.ErrNotExist):
		r.Notes = append(r.Notes, fmt.Sprintf("%s could not be read (%v): the page shows the heap at the peak only", raw.MomentsFile, term.Cut(term.OneLine(err), 200)))
	}
	tl, err := readTimeline(filepath.Join(dir, raw.TimelineFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	r.Timeline = tl
	gl, err := readGCLog(filepath.Join(dir, raw.GCLogFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.Notes = append(r.Notes, fmt.Sprintf("%s could not be read (%v): no predictions for other GC settings", raw.GCLogFile, term.Cut(term.OneLine(err), 200)))
	}
	r.GCLog = gl
	if st, err := os.Stat(filepath.Join(dir, raw.MomentsFile)); err == nil {
		r.MomentsFileBytes = st.Size()
	}
	if st, err := os.Stat(filepath.Join(dir, raw.GCLogFile)); err == nil {
		r.GCLogBytes = st.Size()
	}
	return r, nil
}

// RemoveTemps removes from the raw directory dir the temporary files that
// a writer of the tracker's files left there when it died mid-write, or
// when the program replaced its image by exec: once the program has
// ended, nothing will rename them into place.
func RemoveTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	names := []string{raw.PeakFile, raw.ExitFile, raw.OOMFile, raw.StartFile, raw.HistoryFile, raw.MomentsFile, MetaFile, PackagesFile}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		for _, name := range names {
			rest, ok := strings.CutPrefix(e.Name(), raw.TempPrefix(name))
			if ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

func readTimeline(path string) ([]TimelinePoint, error) {
	f, err := regfile.OpenLimited(path, MaxInputBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTimeline(f)
}

// ParseTimeline reads the tracker's timeline.tsv. A last line cut short by
// a kill is ignored.
func ParseTimeline(r io.Reader) ([]TimelinePoint, error) {
	var out []TimelinePoint
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 7 {
			continue
		}
		var v [7]uint64
		ok := true
		for i := range v {
			n, err := strconv.ParseUint(fields[i], 10, 64)
			if err != nil {
				ok = false
				break
			}
			v[i] = n
		}
		if !ok {
			continue
		}
		out = append(out, TimelinePoint{
			At: time.Duration(v[0]) * time.Millisecond, Heap: v[1], RSS: v[2],
			GoMapped: v[3], GoReleased: v[4], Cycles: uint32(v[5]), RSSAnon: v[6],
		})
	}
	return out, sc.Err()
}

// userMainName is what `gofil run` renames the program's main to.
const userMainName = "main." + gofil.UserMain

// NewHeap is the heap the tracker wrote, through the one path every heap
// takes (FromRaw, Clean, FromProfile): the tracker's own allocations
// removed and counted in TrackerBytes, the frames gofil's build added
// hidden, so stacks read as the program's own. pkgs are the packages the
// program links without the agent, nil if not known.
func NewHeap(p raw.Profile, pkgs map[string]bool) *Heap {
	q, own := Clean(FromRaw(p), pkgs)
	h, err := FromProfile(q)
	if err != nil {
		// FromRaw makes a heap profile with consistent samples.
		panic("report: the tracker's heap is not a heap profile: " + err.Error())
	}
	h.Raw = p
	h.TrackerBytes = own[1]
	return h
}

// HiddenFrame reports frames that say nothing about who allocated
// (heapprof.Hidden).
func HiddenFrame(fn string) bool { return heapprof.Hidden(fn) }

// Site is an allocation site: the innermost frame of a stack that is not
// the runtime's own.
type Site struct {
	Function string  `json:"function"`
	File     string  `json:"file"`
	Line     int     `json:"line"`
	Bytes    int64   `json:"bytes"`
	Objects  int64   `json:"objects"`
	Percent  float64 `json:"percent"`
	// LiveBytes is what the GC at the peak's mark found still reachable
	// of Bytes; GarbageBytes the rest, awaiting collection.
	LiveBytes    int64 `json:"live_bytes"`
	GarbageBytes int64 `json:"garbage_bytes"`
	// NotKnownBytes, at the program's end after main returned, is what
	// was allocated after its last GC (Heap.LiveFrom): not known to be in
	// use or garbage. GarbageBytes is then 0.
	NotKnownBytes int64 `json:"not_known_bytes,omitempty"`
}

// Live is the part of s's bytes the GC at the mark found reachable, kept
// within them: the two come from different snapshots, each sampled.
func (s Stack) Live() int64 { return min(max(s.LiveBytes, 0), s.Bytes) }

// Garbage is the rest of s's bytes: unreachable at the mark, awaiting the
// sweep.
func (s Stack) Garbage() int64 { return s.Bytes - s.Live() }

// site is the index in s.Frames of the allocation site (heapprof.Site).
func (s Stack) site() int { return heapprof.Site(s.Frames) }

// Sites groups h by allocation site, largest first.
func (h *Heap) Sites() []Site {
	type key struct {
		fn, file string
		line     int
	}
	acc := map[key]*Site{}
	for _, s := range h.Stacks {
		if len(s.Frames) == 0 {
			continue
		}
		f := s.Frames[s.site()]
		k := key{f.Func, f.File, f.Line}
		site := acc[k]
		if site == nil {
			site = &Site{Function: f.Func, File: f.File, Line: f.Line}
			acc[k] = site
		}
		site.Bytes += s.Bytes
		site.Objects += s.Objects
		site.LiveBytes += s.Live()
		*h.rest(&site.GarbageBytes, &site.NotKnownBytes) += s.Garbage()
	}
	out := make([]Site, 0, len(acc))
	for _, s := range acc {
		s.Percent = percent(s.Bytes, h.Bytes)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// Function is a function's inclusive share of a heap: what it and its
// callees held.
type Function struct {
	Function string  `json:"function"`
	Bytes    int64   `json:"bytes"`
	Objects  int64   `json:"objects"`
	Percent  float64 `json:"percent"`
	// LiveBytes, GarbageBytes and NotKnownBytes split Bytes as Site's do.
	LiveBytes     int64 `json:"live_bytes"`
	GarbageBytes  int64 `json:"garbage_bytes"`
	NotKnownBytes int64 `json:"not_known_bytes,omitempty"`
}

// Functions gives every function's inclusive bytes, largest first. A
// function that appears twice in a stack (recursion) counts once.
func (h *Heap) Functions() []Function {
	acc := map[string]*Function{}
	for _, s := range h.Stacks {
		seen := map[string]bool{}
		for _, f := range s.Frames {
			if seen[f.Func] {
				continue
			}
			seen[f.Func] = true
			fn := acc[f.Func]
			if fn == nil {
				fn = &Function{Function: f.Func}
				acc[f.Func] = fn
			}
			fn.Bytes += s.Bytes
			fn.Objects += s.Objects
			fn.LiveBytes += s.Live()
			*h.rest(&fn.GarbageBytes, &fn.NotKnownBytes) += s.Garbage()
		}
	}
	out := make([]Function, 0, len(acc))
	for _, f := range acc {
		f.Percent = percent(f.Bytes, h.Bytes)
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Function < out[j].Function
	})
	return out
}

// LiveFrom reports whether h is the program's end after main returned,
// whose live part is what the program's last GC found reachable
// (raw.Profile.LiveFromCycle): the rest is not known to be garbage.
func (h *Heap) LiveFrom() bool { return h.Raw.LiveFromCycle != 0 }

// rest is where the part of a stack that is not live goes: garbage, or
// not known at an end whose live part is the last GC's.
func (h *Heap) rest(garbage, notKnown *int64) *int64 {
	if h.LiveFrom() {
		return notKnown
	}
	return garbage
}

// LiveBytes is what the GC at the peak found still reachable, of the
// heap's bytes.
func (h *Heap) LiveBytes() int64 {
	var n int64
	for _, s := range h.Stacks {
		n += s.Live()
	}
	return n
}

func percent(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(int64(float64(part)*10000/float64(whole)+0.5)) / 100
}

// FrameName is how a frame is named in collapsed stacks and flamegraphs:
// "pkg.Func (file.go:line)".
func FrameName(f Frame) string {
	if f.File == "" {
		return f.Func
	}
	return fmt.Sprintf("%s (%s:%d)", f.Func, filepath.Base(f.File), f.Line)
}

// WriteFolded writes h in Brendan Gregg's collapsed format, one line per
// distinct stack, root first, sorted.
func WriteFolded(w io.Writer, h *Heap) error {
	sums := map[string]int64{}
	for _, s := range h.Stacks {
		names := make([]string, len(s.Frames))
		for i, f := range s.Frames {
			names[i] = strings.ReplaceAll(FrameName(f), ";", ":")
		}
		sums[strings.Join(names, ";")] += s.Bytes
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		fmt.Fprintf(bw, "%s %d\n", k, sums[k])
	}
	return bw.Flush()
}

// Sampled is the unbiased sampled total of the heap at the mark the
// attribution comes from, the tracker's own allocations included, before
// any correction: the figure to hold against the runtime's exact one.
func (h *Heap) Sampled() int64 {
	if h.Raw.SampledBytes > 0 {
		return h.Raw.SampledBytes
	}
	return h.Raw.Bytes
}

// Corrections names what was added to the sampled heap.
func (h *Heap) Corrections() []Correction {
	out := []Correction{}
	if h.Raw.UnsweptBytes > 0 {
		out = append(out, Correction{
			Name:  "unswept garbage",
			Bytes: h.Raw.UnsweptBytes,
			How: "the runtime's exact heap was larger just before the GC's mark than at it, by garbage of the cycle before not yet swept; " +
				"each stack was given the same share of what that sweep freed from it, to the runtime's figure; what it adds is garbage, counted in garbage_bytes",
		})
	}
	return out
}

// Disagreement returns a one-line note when the sampled heap at the mark
// and the runtime's exact figure for it differ by more than sampling
// explains, else "". Sampling at rate R gives a heap of B bytes a standard
// error of at most sqrt(R·B) (all of it in objects much smaller than R);
// the note needs three of those and 1% besides.
func (h *Heap) Disagreement() string {
	exact := float64(h.Raw.MarkExactBytes)
	if exact == 0 {
		return ""
	}
	sampled := float64(h.Sampled())
	rate := float64(h.Raw.Rate)
	if rate < 1 {
		rate = 1
	}
	tol := 3*math.Sqrt(rate*exact) + 0.01*exact
	if math.Abs(sampled-exact) <= tol {
		return ""
	}
	return fmt.Sprintf("the sampled heap at the peak's GC mark, %s, differs from the runtime's exact figure, %s, by %+.1f%%, more than sampling explains (±%.1f%%): the attribution may miss or double-count memory",
		units.Bytes(int64(sampled)), units.Bytes(int64(exact)), 100*(sampled-exact)/exact, 100*tol/exact)
}

// ReadRaw reads dir/name, a file of the tracker's, into v. A missing file
// gives an error that satisfies errors.Is(err, fs.ErrNotExist).
func ReadRaw(dir, name string, v interface{}) error {
	data, err := regfile.ReadLimited(filepath.Join(dir, name), MaxInputBytes)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// readDumpLog reads the tracker's log of emergency dump times. A last line
// cut short by a kill is ignored.
func readDumpLog(path string) (map[int][2]time.Duration, error) {
	f, err := regfile.OpenLimited(path, 1<<20)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[int][2]time.Duration{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		level, err1 := strconv.Atoi(fields[0])
		first, err2 := strconv.ParseInt(fields[1], 10, 64)
		refined, err3 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || first < 0 || refined < 0 {
			continue
		}
		v := out[level]
		if first > 0 {
			v[0] = time.Duration(first)
		}
		if refined > 0 {
			v[1] = time.Duration(refined)
		}
		out[level] = v
	}
	return out, sc.Err()
}

// PackagesFile, in the raw directory, lists the packages the program links
// without the agent, one import path a line; gofil writes it at build time.
const PackagesFile = "packages.txt"

// WritePackages writes the program's packages into the raw directory.
func WritePackages(dir string, pkgs []string) error {
	return raw.WriteFile(dir, PackagesFile, []byte(strings.Join(pkgs, "\n")+"\n"))
}

func readPackages(path string) (map[string]bool, error) {
	f, err := regfile.OpenLimited(path, 16<<20)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pkgs := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" {
			pkgs[p] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", PackagesFile, err)
	}
	return pkgs, nil
}

// agentOnly reports whether pkg is a standard-library package (the agent
// imports nothing else) that the program does not link itself.
func agentOnly(pkg string, program map[string]bool) bool {
	if pkg == "" || program[pkg] || strings.HasPrefix(pkg, "0x") || strings.HasPrefix(pkg, "_") {
		return false
	}
	first := pkg
	if i := strings.IndexByte(pkg, '/'); i >= 0 {
		first = pkg[:i]
	}
	return !strings.Contains(first, ".") && !strings.ContainsAny(pkg, " ()*")
}
