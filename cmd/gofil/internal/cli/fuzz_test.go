package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// FuzzMetaFromSummary: gofil report reads back an earlier report's
// summary.json (one written before raw/meta.json); any contents give an
// error or a Meta, never a panic.
func FuzzMetaFromSummary(f *testing.F) {
	s := summary.Summary{Schema: 1, Command: []string{"./job", "-n", "3"}, Target: "./job", ExitCode: 3, Ended: "killed by SIGTERM",
		Peak: &summary.PeakInfo{RSSBytes: 1 << 30, HeapBytes: 1 << 29}, Notes: []string{"prebuilt binary: x"}}
	data, _ := json.Marshal(s)
	f.Add(data)
	f.Add([]byte(`{"oom_killed": true, "oom": {"limit_bytes": -1}, "duration_seconds": 1e308, "ended": "killed by "}`))
	f.Add([]byte(`{"peak": null, "notes": [null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, rundir.RawDir), 0o700)
		os.WriteFile(filepath.Join(dir, rundir.SummaryFile), data, 0o600)
		metaFromDir(dir, &rundir.Run{})
	})
}

// snapshotSep separates the heap profiles of FuzzWatchSeries's input.
var snapshotSep = []byte("\x00gofil-snapshot\x00")

// answerWith is an http.RoundTripper that answers each request with the
// next of its bodies, 200 OK.
type answerWith [][]byte

func (a *answerWith) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(*a) == 0 {
		return nil, errors.New("no more answers")
	}
	body := (*a)[0]
	*a = (*a)[1:]
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
}

// FuzzWatchSeries watches a server whose answers are the fuzzer's heap
// profiles, one after another, and writes the watch's report as gofil
// watch does: any answers end the watch with an error or a series whose
// summary encodes as JSON and whose report (leaks.json, growth.pb.gz,
// leaks.html) is written, never a panic.
func FuzzWatchSeries(f *testing.F) {
	base := inlinedProfile()
	var series []byte
	for i := 0; i < 4; i++ {
		p := base.Copy()
		p.TimeNanos = time.Date(2026, 1, 2, 3, 4, 5+i, 0, time.UTC).UnixNano()
		for _, s := range p.Sample {
			for j := range s.Value {
				s.Value[j] *= int64(1 + i*i)
			}
		}
		var buf bytes.Buffer
		p.Write(&buf)
		if i > 0 {
			series = append(series, snapshotSep...)
		}
		series = append(series, buf.Bytes()...)
	}
	f.Add(series)
	legacy := "heap profile: 1: 2048 [3: 4096] @ heap/524288\n1: 2048 [3: 4096] @ 0x1 0x2\n#\t0x1\tmain.f+0x1\t/x.go:3\n"
	f.Add([]byte(legacy + string(snapshotSep) + legacy + string(snapshotSep) + legacy))
	f.Add([]byte("<html>no profile</html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bodies := bytes.Split(data, snapshotSep)
		if len(bodies) > 16 {
			bodies = bodies[:16]
		}
		answers := answerWith(bodies)
		out := t.TempDir()
		w := &watcher{
			url:    "http://127.0.0.1:6060/debug/pprof/heap",
			out:    out,
			client: &http.Client{Transport: &answers},
			series: leak.NewSeries(),
			live:   newLiveLine(io.Discard),
		}
		for len(answers) > 0 {
			if err := w.snapshot(context.Background()); err != nil {
				break
			}
		}
		if w.series.Taken() == 0 {
			return
		}
		res := w.series.Analyze()
		s := res.Summary(w.url)
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("the summary does not encode: %v", err)
		}
		if err := writeWatchReport(out, s, res); err != nil {
			t.Fatalf("the report: %v", err)
		}
		watchText(io.Discard, s)
	})
}

// FuzzReportAt gives gofil report --at a run whose raw/moments.json and
// raw/peak.json are the fuzzer's: it ends in an error or writes a profile
// of the heap at a mark that reads back, never a panic.
func FuzzReportAt(f *testing.F) {
	fixture := filepath.Join("..", "..", "..", "..", "report", "rundir", "testdata", "run", "raw")
	moments, err := os.ReadFile(filepath.Join(fixture, raw.MomentsFile))
	if err != nil {
		f.Fatal(err)
	}
	peak, err := os.ReadFile(filepath.Join(fixture, raw.PeakFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(moments, peak, uint32(100))
	f.Add(moments, []byte("{}"), uint32(0))
	f.Add([]byte(`{"version":1,"rate":0,"frames":[{"func":"main.f"}],"stacks":[[0],[5],[-1]],"moments":[`+
		`{"cycle":1,"at_ns":-9223372036854775808,"bytes":-1,"changes":[[0,1,-5,7],[1,1,1,1],[2,0,0,0],[-1,1,1,1]]},`+
		`{"cycle":2,"at_ns":9223372036854775807,"changes":[[0,0,0,0]]}]}`), peak, uint32(1<<31))
	f.Fuzz(func(t *testing.T, moments, peak []byte, atMS uint32) {
		dir := t.TempDir()
		rawDir := filepath.Join(dir, rundir.RawDir)
		os.Mkdir(rawDir, 0o700)
		entries, _ := os.ReadDir(fixture)
		for _, e := range entries {
			data, _ := os.ReadFile(filepath.Join(fixture, e.Name()))
			os.WriteFile(filepath.Join(rawDir, e.Name()), data, 0o600)
		}
		os.WriteFile(filepath.Join(rawDir, raw.MomentsFile), moments, 0o600)
		os.WriteFile(filepath.Join(rawDir, raw.PeakFile), peak, 0o600)
		at := time.Duration(atMS) * time.Millisecond
		var stdout bytes.Buffer
		if err := reportAt(reportFlags{arg: dir, at: at, hasAt: true}, &stdout, io.Discard); err != nil {
			return
		}
		path := filepath.Join(dir, "heap-at-"+at.String()+".pb.gz")
		if got := strings.TrimSpace(stdout.String()); got != path {
			t.Fatalf("gofil report --at printed %q, want %q", got, path)
		}
		p, err := heap.ReadProfile(path)
		if err != nil {
			t.Fatalf("the profile written does not read back: %v", err)
		}
		if err := p.CheckValid(); err != nil {
			t.Fatalf("the profile written is not valid: %v", err)
		}
	})
}
