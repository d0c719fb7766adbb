package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// runEntry is one run directory of a directory of production runs, as
// `gofil report DIR` lists it.
type runEntry struct {
	name    string
	started time.Time
	peak    string
	ended   string
}

// runDirs returns the run directories in dir, a directory of production
// runs (GOFIL_OUT), st its Stat: its directories that hold a tracker's
// start record. None when dir is not a directory, or is a run directory
// itself (it has a raw directory).
func runDirs(st os.FileInfo, dir string) []string {
	if !st.IsDir() {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, rundir.RawDir)); err == nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var runs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, e.Name(), rundir.RawDir, raw.StartFile)); err == nil {
			runs = append(runs, e.Name())
		}
	}
	return runs
}

// listRuns writes a line for each of names, run directories in dir, newest
// first: its name, the heap at its peak and how it ended, from its raw
// files, without rendering a page.
func listRuns(dir string, names []string, stdout, stderr io.Writer) error {
	entries := make([]runEntry, 0, len(names))
	for _, name := range names {
		entries = append(entries, readRunEntry(filepath.Join(dir, name)))
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if !entries[i].started.Equal(entries[j].started) {
			return entries[i].started.After(entries[j].started)
		}
		return entries[i].name > entries[j].name
	})
	runs := "runs"
	if len(entries) == 1 {
		runs = "run"
	}
	fmt.Fprintf(stderr, "gofil: %d %s in %s, newest first; 'gofil report %s' writes a run's report\n", len(entries), runs, dir, filepath.Join(dir, "NAME"))
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\n", printable(e.name), e.peak, e.ended)
	}
	return w.Flush()
}

// printable is name, quoted when it holds a control character (a tab
// would break the columns, a newline the one line per run).
func printable(name string) string {
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return strconv.Quote(name)
	}
	return name
}

// readRunEntry reads what the list says of the run directory dir.
func readRunEntry(dir string) runEntry {
	e := runEntry{name: filepath.Base(dir), peak: "-"}
	run, err := rundir.Load(filepath.Join(dir, rundir.RawDir))
	if err != nil {
		e.ended = "unreadable: " + term.OneLine(err)
		return e
	}
	if run.Start != nil {
		e.started = time.Unix(0, run.Start.StartUnix)
	}
	meta, ok, err := rundir.ReadMeta(filepath.Join(dir, rundir.RawDir))
	switch {
	case err != nil:
		e.ended = "unreadable: " + term.OneLine(err)
		return e
	case !ok:
		meta = rundir.ProductionMeta(run)
	}
	s := summary.Build(meta, run)
	if s.Peak != nil && run.Peak != nil {
		e.peak = units.Bytes(s.Peak.HeapBytes)
	}
	e.ended = s.Ended
	if running(dir) {
		e.ended = "running"
	}
	return e
}

// running reports whether a living process holds dir's lock, as a
// production run's tracker does while its program runs.
func running(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, raw.RunLock), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) == syscall.EWOULDBLOCK
}
