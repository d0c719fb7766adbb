package gotest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report"
	"github.com/gofil/gofil/report/rundir"
)

// ResultsFile is the file in the output directory that lists every test's
// figures.
const ResultsFile = "tests.json"

// Row is one top-level test's figures: an element of tests.json.
type Row struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	// Peak is the test process's peak Go heap: the runtime's exact heap
	// at the moment gofil run would report as the peak (summary.json's
	// peak.heap_bytes_exact), garbage awaiting collection included, less
	// the tracker's own structures as it counted them at that GC cycle
	// (raw/gc.tsv; peak.tracker_bytes without it); when
	// the runtime's figure is not known, the sampled attribution's
	// (peak.heap_bytes), and PeakExact is false.
	Peak      uint64 `json:"peak_bytes"`
	PeakExact bool   `json:"peak_exact"`
	// PeakLive is what the GC at that moment found reachable of it
	// (peak.live_bytes_exact).
	PeakLive uint64 `json:"peak_live_bytes"`
	// Retained is the live heap after a GC at the process's end, less the
	// same in a process of the same binary that ran no test: what the test
	// left reachable (package-level variables, goroutines still blocked);
	// 0 when the process recorded no end (a crash, a kill).
	Retained int64 `json:"retained_bytes"`
	Passed   bool  `json:"passed"`
	// RSS is the process's peak resident memory.
	RSS     uint64  `json:"rss_bytes"`
	Seconds float64 `json:"seconds"`
	// Error says how a test that did not pass ended ("exit code 1",
	// "killed by SIGKILL"), or what kept gofil from measuring it.
	Error string `json:"error,omitempty"`
	// Dir is the test's run directory (its raw data, and its report for
	// the heaviest tests), relative to the output directory.
	Dir    string `json:"dir"`
	Report bool   `json:"report"`

	liveAtExit uint64
}

// sortRows sorts rows by peak, largest first, then by package and test.
func sortRows(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Peak != rows[j].Peak {
			return rows[i].Peak > rows[j].Peak
		}
		if rows[i].Package != rows[j].Package {
			return rows[i].Package < rows[j].Package
		}
		return rows[i].Test < rows[j].Test
	})
}

// WriteTable prints rows, sorted already, as gofil's table on stderr.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "gofil test: peak Go heap and retained bytes of each test, largest peak first:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  PEAK\tRETAINED\tRESULT\t\n")
	for _, r := range rows {
		result := "ok"
		if !r.Passed {
			result = "FAIL"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t  %s\n", units.Bytes(int64(r.Peak)), units.Signed(r.Retained), result, term.Name(r.Package+" "+r.Test))
	}
	tw.Flush()
}

// writeResults writes tests.json into dir, privately and atomically.
func writeResults(dir string, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, ResultsFile), append(data, '\n'))
}

// writeReports writes the report of the c.Reports heaviest tests, rows
// sorted already, into their run directories, and marks their rows.
func (c Config) writeReports(rows []Row) {
	n := 0
	for i := range rows {
		if n == c.Reports {
			break
		}
		r := &rows[i]
		if r.Dir == "" {
			continue
		}
		rawDir := filepath.Join(r.Dir, rundir.RawDir)
		meta, ok, err := rundir.ReadMeta(rawDir)
		if err != nil || !ok {
			continue
		}
		run, err := rundir.Load(rawDir)
		if err != nil {
			continue
		}
		if _, err := report.WriteDir(r.Dir, meta, run, nil); err != nil {
			fmt.Fprintf(c.Stderr, "gofil test: the report of %s: %v\n", r.Test, err)
			continue
		}
		r.Report = true
		n++
		fmt.Fprintf(c.Stderr, "gofil test: report of %s %s: %s\n", r.Package, r.Test, r.Dir)
	}
}

// relative is rows with their directories relative to out.
func relative(out string, rows []Row) []Row {
	rel := append([]Row(nil), rows...)
	for i := range rel {
		if d, err := filepath.Rel(out, rel[i].Dir); err == nil {
			rel[i].Dir = d
		}
	}
	return rel
}

// writeAtomic writes data to path through a private temporary file beside
// it, renamed into place once synced: a reader sees the old file or the
// new, and the file is 0600 whatever the umask.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
