package report

import (
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// Entry is one run directory of a directory of production runs, as
// `gofil report DIR` lists it.
type Entry struct {
	Name    string
	Started time.Time
	Peak    string
	Ended   string
}

// RunDirs returns the run directories in dir, a directory of production
// runs (GOFIL_OUT), st its Stat: its directories that hold a tracker's
// start record. None when dir is not a directory, or is a run directory
// itself (it has a raw directory).
func RunDirs(st os.FileInfo, dir string) []string {
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

// ReadEntry reads what the list says of the run directory dir.
func ReadEntry(dir string) Entry {
	e := Entry{Name: filepath.Base(dir), Peak: "-"}
	run, err := rundir.Load(filepath.Join(dir, rundir.RawDir))
	if err != nil {
		e.Ended = "unreadable: " + term.OneLine(err)
		return e
	}
	if run.Start != nil {
		e.Started = time.Unix(0, run.Start.StartUnix)
	}
	meta, ok, err := rundir.ReadMeta(filepath.Join(dir, rundir.RawDir))
	switch {
	case err != nil:
		e.Ended = "unreadable: " + term.OneLine(err)
		return e
	case !ok:
		meta = rundir.ProductionMeta(run)
	}
	s := summary.Build(meta, run)
	if s.Peak != nil && run.Peak != nil {
		e.Peak = units.Bytes(s.Peak.HeapBytes)
	}
	e.Ended = s.Ended
	if running(dir) {
		e.Ended = "running"
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
