// Package rundir reads a run directory: the raw files the tracker wrote
// while the program ran (raw.StartFile, raw.PeakFile, the timeline, the
// moments, the GC log...) and what gofil knew of the run from outside
// (meta.json, rss.tsv), into a Run and a Meta, from which a report is
// made.
package rundir

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/internal/pacer"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/regfile"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/report/heap"
)

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
	// Free, Stacks and Runtime are the runtime's memory beyond its heap
	// objects (summary.Ledger's parts): free and unused heap, stacks, its
	// own structures; 0 in a timeline written before they were.
	Free, Stacks, Runtime uint64
}

// Beyond is the memory the runtime held beyond its heap objects: free and
// unused heap, stacks, its own structures.
func (p TimelinePoint) Beyond() uint64 { return p.Free + p.Stacks + p.Runtime }

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
	Start *raw.Start
	Exit  *raw.Exit
	// Blocked is set when the tracker last found every goroutine of the
	// program waiting for another (raw.Blocked).
	Blocked  *raw.Blocked
	Peak     *heap.Heap
	OOM      *heap.Heap
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
	// pool holds the frames of the stacks of every heap Load, Marks and
	// Leaks make, once; nil in a Run not made by Load.
	pool *heap.Pool
}

// Load reads a run directory. Missing files leave their fields nil; a
// directory with none of the tracker's files is not an error either (the
// program may have died before the tracker wrote anything).
func Load(dir string) (*Run, error) {
	r := &Run{pool: heap.NewPool()}
	pkgs, err := readPackages(filepath.Join(dir, PackagesFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	r.Packages = pkgs
	if r.Start, err = readOptional[raw.Start](dir, raw.StartFile); err != nil {
		return nil, err
	}
	if r.Exit, err = readOptional[raw.Exit](dir, raw.ExitFile); err != nil {
		return nil, err
	}
	if r.Blocked, err = readOptional[raw.Blocked](dir, raw.BlockedFile); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  **heap.Heap
	}{{raw.PeakFile, &r.Peak}, {raw.OOMFile, &r.OOM}} {
		var p raw.Profile
		err := ReadRaw(dir, f.name, &p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		*f.dst = heap.NewCleaner(p.Frames, r.Packages, r.pool).Heap(p)
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
	if r.History, err = readOptional[raw.History](dir, raw.HistoryFile); err != nil {
		return nil, err
	}
	// The moments and the GC log are for the page's other moments and
	// the what-if: one damaged leaves the rest of the report whole.
	var moments raw.Moments
	switch err := ReadRaw(dir, raw.MomentsFile, &moments); {
	case err == nil && len(moments.Moments) > maxMoments:
		r.Notes = append(r.Notes, fmt.Sprintf("%s holds %d moments, more than the %d the tracker writes: it was not read, and the page shows the heap at the peak only", raw.MomentsFile, len(moments.Moments), maxMoments))
	case err == nil:
		compactStacks(moments.Stacks)
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

// readOptional reads dir's raw file name, nil if there is none.
func readOptional[T any](dir, name string) (*T, error) {
	var v T
	err := ReadRaw(dir, name, &v)
	switch {
	case err == nil:
		return &v, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	}
	return nil, err
}

// compactStacks moves stacks into one array of their exact size: the JSON
// decoder leaves each in an array up to twice as large as it holds, and a
// run's moments can hold as many stacks as its peak.
func compactStacks(stacks [][]int) {
	n := 0
	for _, s := range stacks {
		n += len(s)
	}
	all := make([]int, n)
	for i, s := range stacks {
		c := all[:len(s):len(s)]
		copy(c, s)
		all = all[len(s):]
		stacks[i] = c
	}
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
	names := []string{raw.PeakFile, raw.ExitFile, raw.BlockedFile, raw.OOMFile, raw.StartFile, raw.HistoryFile, raw.MomentsFile, MetaFile, PackagesFile}
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
	f, err := regfile.OpenLimited(path, regfile.MaxInputBytes)
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
		p := TimelinePoint{
			At: time.Duration(v[0]) * time.Millisecond, Heap: v[1], RSS: v[2],
			GoMapped: v[3], GoReleased: v[4], Cycles: uint32(v[5]), RSSAnon: v[6],
		}
		if len(fields) >= 10 {
			var c [3]uint64
			for i := range c {
				c[i], _ = strconv.ParseUint(fields[7+i], 10, 64)
			}
			p.Free, p.Stacks, p.Runtime = c[0], c[1], c[2]
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

// ReadRaw reads dir/name, a file of the tracker's, into v. A missing file
// gives an error that satisfies errors.Is(err, fs.ErrNotExist).
func ReadRaw(dir, name string, v interface{}) error {
	data, err := regfile.ReadLimited(filepath.Join(dir, name), regfile.MaxInputBytes)
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

// PointAt returns the timeline window that holds moment at.
func PointAt(tl []TimelinePoint, at time.Duration) (TimelinePoint, bool) {
	for _, p := range tl {
		if p.At >= at {
			return p, true
		}
	}
	if len(tl) > 0 {
		return tl[len(tl)-1], true
	}
	return TimelinePoint{}, false
}

// readGCLog reads the tracker's raw/gc.tsv.
func readGCLog(path string) (*pacer.Log, error) {
	f, err := regfile.OpenLimited(path, regfile.MaxInputBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return pacer.Parse(f)
}
