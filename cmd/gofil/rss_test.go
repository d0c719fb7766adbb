package main

import (
	"path/filepath"
	"testing"
)

// TestOwnPeakRSS: the peak RSS is the program's own high-water mark, not
// wait4's maxrss (which counts what the child inherits from gofil at exec
// and the largest grandchild); a child process's memory is reported apart.
// testdata/spawnchild holds 16 MiB itself and runs a child holding 200 MiB.
func TestOwnPeakRSS(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, testdata(t, "spawnchild"), "run", "-o", out, ".")
	if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
		t.Fatalf("exit code %d, summary %v\n%s", r.code, r.summary, r.stderr)
	}
	p := r.summary.Peak
	t.Logf("own peak RSS %.1f MiB, children's %.1f MiB", float64(p.RSSBytes)/mib, float64(p.ChildrenRSSBytes)/mib)
	if p.RSSBytes < 16*mib || p.RSSBytes > 60*mib {
		t.Errorf("peak.rss_bytes = %.1f MiB, want the program's own, 16 MiB held plus the runtime's and the tracker's (under 60 MiB)", float64(p.RSSBytes)/mib)
	}
	if p.ChildrenRSSBytes < 200*mib || p.ChildrenRSSBytes > 240*mib {
		t.Errorf("peak.children_rss_bytes = %.1f MiB, want the child's 200 MiB and its runtime's", float64(p.ChildrenRSSBytes)/mib)
	}
}
