package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/gofil/gofil/leak"
)

func TestRedactURL(t *testing.T) {
	if got := redactURL("http://me:secret@127.0.0.1:6060/debug/pprof/heap?gc=1"); strings.Contains(got, "secret") {
		t.Errorf("redactURL kept the password: %s", got)
	}
	if got := redactURL("http://127.0.0.1:6060/debug/pprof/heap?gc=1"); got != "http://127.0.0.1:6060/debug/pprof/heap?gc=1" {
		t.Errorf("redactURL changed a URL without a password: %s", got)
	}
}

// TestWatchKeepsEverySnapshotCounted: past the 1024 points the analysis
// keeps, a watch still counts every snapshot, names each file by its number
// in the watch, never writes over one, and keeps the first and the latest
// 1023 on disk.
func TestWatchKeepsEverySnapshotCounted(t *testing.T) {
	var body bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&body, 0); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body.Bytes()) }))
	defer hs.Close()
	out := filepath.Join(t.TempDir(), "watch")
	if _, err := makeOutDir(out); err != nil {
		t.Fatal(err)
	}
	w := &watcher{url: hs.URL, out: out, client: hs.Client(), series: leak.NewSeries(), live: newLiveLine(io.Discard)}
	const n = 1500
	for i := 0; i < n; i++ {
		if err := w.snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	res := w.series.Analyze()
	if s := res.Summary(hs.URL); s.Snapshots != n || s.Points > 1024 || s.Points < 512 {
		t.Errorf("leaks.json would count %d snapshots and %d points; want %d, and 512 to 1024", s.Snapshots, s.Points, n)
	}
	files, _ := filepath.Glob(filepath.Join(out, snapshotsDir, "*.pb.gz"))
	if len(files) != maxKept {
		t.Errorf("%d snapshot files on disk, want %d", len(files), maxKept)
	}
	for _, want := range []int{1, n - maxKept + 2, n} {
		if _, err := os.Stat(filepath.Join(out, snapshotsDir, snapshotName(want))); err != nil {
			t.Errorf("snapshot %d is not on disk: %v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, snapshotsDir, snapshotName(2))); err == nil {
		t.Errorf("snapshot 2 is still on disk, past the 1023 latest")
	}
}
