package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// inlinedProfile is report/heap/testdata/inlined.pb.gz: a heap profile with
// one inlined call, main.main calls main.load, into which main.alloc was
// inlined (see report's ingest tests).
func inlinedProfile() *profile.Profile {
	p, err := heap.ReadProfile(filepath.Join("..", "..", "..", "..", "report", "heap", "testdata", "inlined.pb.gz"))
	if err != nil {
		panic(err)
	}
	return p
}

// writeInlined writes inlinedProfile to path.
func writeInlined(t *testing.T, path string) {
	t.Helper()
	writeProfile(t, path, inlinedProfile())
}

// writeProfile writes p to path.
func writeProfile(t *testing.T, path string, p *profile.Profile) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReportCommandProfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "heap.pb.gz")
	writeInlined(t, path)
	var stdout, stderr bytes.Buffer
	if code := exitCode("report", reportCommand(context.Background(), []string{path}, &stdout, &stderr), &stderr); code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr.String())
	}
	out := filepath.Join(dir, "heap-report")
	if got := strings.TrimSpace(stdout.String()); got != filepath.Join(out, rundir.HTMLFile) {
		t.Errorf("stdout %q, want the page's path", got)
	}
	for _, name := range []string{rundir.HTMLFile, rundir.PeakFolded, rundir.PeakProfile, rundir.SummaryFile} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, rundir.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var s summary.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Peak == nil || s.Peak.HeapBytes != 550 || len(s.Top) == 0 || s.Top[0].Function != "main.alloc" {
		t.Errorf("summary: %s", data)
	}
	if len(s.Notes) == 0 || !strings.Contains(s.Notes[0], "pprof") {
		t.Errorf("notes %q do not say the report comes from a pprof profile", s.Notes)
	}
	// Again, flags after the profile: the directory holds a report and is
	// written over.
	stderr.Reset()
	if code := exitCode("report", reportCommand(context.Background(), []string{path, "-o", out}, &stdout, &stderr), &stderr); code != 0 {
		t.Fatalf("second run: exit code %d\n%s", code, stderr.String())
	}
}

func TestReportCommandBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notEmpty := filepath.Join(dir, "busy")
	if err := os.MkdirAll(notEmpty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notEmpty, "keep.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "heap.pb.gz")
	writeInlined(t, prof)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "give a report directory or a heap profile"},
		{[]string{filepath.Join(dir, "missing")}, "no such file"},
		{[]string{text}, "neither a report directory nor a pprof profile"},
		{[]string{dir}, "not a gofil report directory"},
		{[]string{prof, text}, "one report directory or profile at a time"},
		{[]string{"-o", notEmpty, prof}, "gofil did not write it"},
		{[]string{"--bogus", prof}, "flag provided but not defined"},
	} {
		var stdout, stderr bytes.Buffer
		code := exitCode("report", reportCommand(context.Background(), c.args, &stdout, &stderr), &stderr)
		msg := stderr.String()
		if code == 0 || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("gofil report %q: exit code %d, stderr %q; want non-zero and one line saying %q", c.args, code, msg, c.want)
		}
	}
}

// TestMetaFromDir checks that a run directory's summary.json gives back
// what gofil run knew, so that rendering it again keeps its figures and
// notes.
func TestMetaFromDir(t *testing.T) {
	peak := &heap.Heap{Raw: raw.Profile{Reason: "gc", AtNS: 1e9}, Bytes: 100, Objects: 1,
		Stacks: []heap.Stack{{Frames: []heap.Frame{{Func: "main.main", File: "/src/main.go", Line: 3}}, Bytes: 100, Objects: 1}}}
	for _, c := range []struct {
		name string
		meta rundir.Meta
	}{
		{"oom", rundir.Meta{Command: []string{"./job", "-x"}, Target: "./job", ExitCode: 137, Signal: "SIGKILL", OOMKilled: true,
			MemoryLimit: 300 << 20, MaxRSS: 310 << 20, Duration: 2 * time.Second, Notes: []string{"a note of gofil run's own"}}},
		{"sigterm", rundir.Meta{Command: []string{"./srv"}, Target: "./srv", ExitCode: 143, Signal: "SIGTERM", MaxRSS: 10 << 20}},
		{"exit", rundir.Meta{Command: []string{"./job"}, Target: "./job", ExitCode: 3, MaxRSS: 10 << 20,
			RSS: []rundir.RSSPoint{{At: 10 * time.Millisecond, RSS: 5 << 20}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			run := &rundir.Run{Start: &raw.Start{Rate: 4096}, Peak: peak}
			before, err := report.WriteDir(dir, c.meta, run, nil)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := metaFromDir(dir, run)
			if err != nil {
				t.Fatal(err)
			}
			after := summary.Build(meta, run)
			if !slices.Equal(after.Notes, before.Notes) || after.Ended != before.Ended || after.ExitCode != before.ExitCode ||
				!slices.Equal(after.Command, before.Command) || after.Peak.RSSBytes != before.Peak.RSSBytes ||
				after.DurationSeconds != before.DurationSeconds || len(meta.RSS) != len(c.meta.RSS) {
				t.Errorf("rebuilt summary differs:\nbefore %q %q %+v\nafter  %q %q %+v", before.Ended, before.Notes, before.Peak, after.Ended, after.Notes, after.Peak)
			}
		})
	}
}

func TestDefaultProfileReportDir(t *testing.T) {
	for in, want := range map[string]string{
		"/p/heap.pb.gz": "/p/heap-report",
		"heap.pprof":    "heap-report",
		"/p/heap":       "/p/heap-report",
		"/p/.pb.gz":     "/p/.pb.gz-report",
	} {
		if got := defaultProfileReportDir(in); got != want {
			t.Errorf("defaultProfileReportDir(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMetaFromRecordedFacts: a run's raw/meta.json gives back everything
// gofil run knew, with no summary.json to read.
func TestMetaFromRecordedFacts(t *testing.T) {
	dir := t.TempDir()
	rawDir := filepath.Join(dir, rundir.RawDir)
	if err := os.Mkdir(rawDir, 0o700); err != nil {
		t.Fatal(err)
	}
	want := rundir.Meta{Command: []string{"./job", "-x"}, Target: "./job", Binary: "job", ExitCode: 137, Signal: "SIGKILL",
		OOMKilled: true, NoSource: true, MemoryLimit: 300 << 20, MaxRSS: 310 << 20, HighWater: 305 << 20,
		Duration: 2 * time.Second, Started: time.Unix(1700000000, 0).UTC(), Notes: []string{"a note of gofil run's own"}}
	if err := rundir.WriteMeta(rawDir, want); err != nil {
		t.Fatal(err)
	}
	got, err := metaFromDir(dir, &rundir.Run{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Command, want.Command) || got.Target != want.Target || got.Binary != want.Binary ||
		got.ExitCode != want.ExitCode || got.Signal != want.Signal || got.OOMKilled != want.OOMKilled ||
		got.NoSource != want.NoSource || got.MemoryLimit != want.MemoryLimit || got.MaxRSS != want.MaxRSS ||
		got.HighWater != want.HighWater || got.Duration != want.Duration || !got.Started.Equal(want.Started) ||
		!slices.Equal(got.Notes, want.Notes) || got.EndUnknown {
		t.Errorf("meta from raw/meta.json:\n got %+v\nwant %+v", got, want)
	}
}

// TestReportOutTouchesOnlyItsOwn: gofil report -o writes into a directory
// again only when gofil wrote it (its manifest says so), and replaces only
// the files it wrote: a user's own index.html and summary.json in another
// directory are never taken for a report, and a user's file beside a
// report stays.
func TestReportOutTouchesOnlyItsOwn(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "heap.pb.gz")
	writeInlined(t, prof)
	report := func(out string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := exitCode("report", reportCommand(context.Background(), []string{"-o", out, prof}, &stdout, &stderr), &stderr)
		return code, stderr.String()
	}

	theirs := filepath.Join(dir, "site")
	os.Mkdir(theirs, 0o700)
	mine := map[string]string{"index.html": "<p>my page</p>\n", "summary.json": "{\"mine\": true}\n", "rss.tsv": "1\t2\n", "leaks.json": "[]\n"}
	for name, data := range mine {
		os.WriteFile(filepath.Join(theirs, name), []byte(data), 0o600)
	}
	if code, msg := report(theirs); code != 2 || !strings.Contains(msg, "gofil did not write it") {
		t.Errorf("-o a directory of the user's own files: exit code %d, %q; want 2, refused", code, msg)
	}
	for name, data := range mine {
		if got, _ := os.ReadFile(filepath.Join(theirs, name)); string(got) != data {
			t.Errorf("the user's %s now holds %q", name, got)
		}
	}

	out := filepath.Join(dir, "out")
	if code, msg := report(out); code != 0 {
		t.Fatalf("first report: exit code %d, %q", code, msg)
	}
	notes := filepath.Join(out, "notes.txt")
	os.WriteFile(notes, []byte("mine\n"), 0o600)
	if code, msg := report(out); code != 0 {
		t.Fatalf("the same report again: exit code %d, %q", code, msg)
	}
	if got, _ := os.ReadFile(notes); string(got) != "mine\n" {
		t.Errorf("the user's notes.txt beside the report now holds %q", got)
	}
	if _, err := os.Stat(filepath.Join(out, "index.html")); err != nil {
		t.Errorf("the report again has no page: %v", err)
	}
}
