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

// heapServer serves a heap profile of this process, the same at every
// request, until the test ends.
func heapServer(t *testing.T) *httptest.Server {
	t.Helper()
	var body bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&body, 0); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body.Bytes()) }))
	t.Cleanup(hs.Close)
	return hs
}

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
	hs := heapServer(t)
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

// TestWatchNeverShowsThePassword: a URL's password is not shown in any
// message, whether the URL is refused after it parses (not http), does not
// parse in its password, or does not parse elsewhere; nor when it stands
// among other arguments or where a flag's value goes.
func TestWatchNeverShowsThePassword(t *testing.T) {
	for _, c := range []struct {
		args   []string
		secret []string // what must not be shown
		shown  string   // what must
	}{
		{[]string{"ftp://bob:s3cret@127.0.0.1/"}, []string{"s3cret"}, `"ftp://bob:xxxxx@127.0.0.1/": want http or https`},
		{[]string{"http://bob:s3%cret@127.0.0.1:1/"}, []string{"s3%cret", "%cr"}, `"http://xxxxx@127.0.0.1:1/": its user name or password does not parse`},
		{[]string{"http://bob:s3cret@[::1/"}, []string{"s3cret"}, `"http://xxxxx@[::1/": missing ']' in host`},
		{[]string{"bob:s3cret@[::1/"}, []string{"s3cret"}, `"http://xxxxx@[::1/"`},
		{[]string{"bob:s3cret@127.0.0.1:6060", "http://al:pa55@[::1/"}, []string{"s3cret", "pa55"}, `one URL only, got ["bob:xxxxx@127.0.0.1:6060" "http://xxxxx@[::1/"]`},
		{[]string{"--interval", "http://bob:s3cret@127.0.0.1:6060"}, []string{"s3cret"}, `invalid value "http://bob:xxxxx@127.0.0.1:6060" for flag -interval`},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"watch", "-o", filepath.Join(t.TempDir(), "w")}, c.args...)
		code := Run(context.Background(), args, nil, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		for _, s := range c.secret {
			if strings.Contains(out, s) {
				t.Errorf("gofil watch %q shows %q:\n%s", c.args, s, out)
			}
		}
		if code != exitBadInput || !strings.Contains(stderr.String(), c.shown) {
			t.Errorf("gofil watch %q: exit code %d, stderr %q; want %d and %q", c.args, code, stderr.String(), exitBadInput, c.shown)
		}
	}
}
