package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report"
	"github.com/gofil/gofil/report/rundir"
)

// copyRun copies report/rundir/testdata/run, a run directory, into a new one.
func copyRun(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "..", "..", "report", "rundir", "testdata", "run")
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// putFIFO puts a FIFO at path, in place of whatever was there.
func putFIFO(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReportFIFO: a FIFO in place of any file that gofil report reads (a
// file of raw/, rss.tsv, summary.json and peak.pb.gz of a run from before
// raw/meta.json, the manifest of a directory given to -o, the profile
// itself) is never opened to wait for a writer: gofil report and gofil
// report --at end, with one line of error and a non-zero exit, or, for the
// files the report does without (the moments, the GC log), a report that
// says the file could not be read.
func TestReportFIFO(t *testing.T) {
	type kase struct {
		name  string
		setup func(t *testing.T) []string // the arguments
		// optional: the report may go on without the file.
		optional bool
	}
	var cases []kase
	runFile := func(rel string, noMeta bool) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			dir := copyRun(t)
			if noMeta {
				os.Remove(filepath.Join(dir, rundir.RawDir, rundir.MetaFile))
			}
			putFIFO(t, filepath.Join(dir, rel))
			return []string{dir}
		}
	}
	for _, name := range []string{raw.StartFile, raw.ExitFile, raw.PeakFile, raw.OOMFile, raw.DumpLogFile,
		raw.HistoryFile, raw.MomentsFile, raw.TimelineFile, raw.GCLogFile, rundir.MetaFile, rundir.PackagesFile} {
		cases = append(cases, kase{"raw/" + name, runFile(filepath.Join(rundir.RawDir, name), false),
			name == raw.MomentsFile || name == raw.GCLogFile})
	}
	cases = append(cases,
		kase{rundir.RSSFile, runFile(rundir.RSSFile, false), false},
		kase{rundir.SummaryFile + " without meta.json", runFile(rundir.SummaryFile, true), false},
		kase{report.ManifestFile, func(t *testing.T) []string {
			dir := t.TempDir()
			prof := filepath.Join(dir, "heap.pb.gz")
			writeInlined(t, prof)
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o700); err != nil {
				t.Fatal(err)
			}
			putFIFO(t, filepath.Join(out, report.ManifestFile))
			return []string{"-o", out, prof}
		}, false},
		kase{"the profile", func(t *testing.T) []string {
			prof := filepath.Join(t.TempDir(), "heap.pb.gz")
			putFIFO(t, prof)
			return []string{prof}
		}, false},
	)
	// peak.pb.gz is read only for a run without meta.json, and what it
	// gives is not needed: a FIFO there is passed over.
	cases = append(cases, kase{rundir.PeakProfile + " without meta.json", func(t *testing.T) []string {
		dir := copyRun(t)
		os.Remove(filepath.Join(dir, rundir.RawDir, rundir.MetaFile))
		os.WriteFile(filepath.Join(dir, rundir.SummaryFile), []byte("{}\n"), 0o600)
		putFIFO(t, filepath.Join(dir, rundir.PeakProfile))
		return []string{dir}
	}, true})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.setup(t)
			runs := [][]string{args}
			if args[0] != "-o" && !strings.HasSuffix(args[0], ".pb.gz") {
				runs = append(runs, append([]string{"--at", "1s"}, args...))
			}
			for _, a := range runs {
				code, stderr, ok := reportWithin(t, a, 10*time.Second)
				if !ok {
					t.Fatalf("gofil report %q still runs after 10s: it waits on the FIFO", a)
				}
				switch {
				case code != 0 && strings.Count(stderr, "\n") != 1:
					t.Errorf("gofil report %q: exit code %d and %q; want one line", a, code, stderr)
				case code == 0 && !c.optional:
					t.Errorf("gofil report %q: exit code 0 with a FIFO in place of %s\n%s", a, c.name, stderr)
				}
			}
		})
	}
}

// reportWithin runs gofil report with args for at most d. After d, it
// opens and closes the FIFOs' writing end so that a read waiting on one
// ends, and says it did not finish (ok false).
func reportWithin(t *testing.T, args []string, d time.Duration) (code int, stderr string, ok bool) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, errb bytes.Buffer
		code := exitCode("report", reportCommand(context.Background(), args, &stdout, &errb), &errb)
		done <- result{code, errb.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr, true
	case <-time.After(d):
	}
	// Unblock the reader: every FIFO under the arguments' directories.
	for _, a := range args {
		dir := a
		if st, err := os.Stat(a); err != nil || !st.IsDir() {
			dir = filepath.Dir(a)
		}
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Mode()&os.ModeNamedPipe != 0 {
				if fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					syscall.Close(fd)
				}
			}
			return nil
		})
	}
	<-done
	return 0, "", false
}
