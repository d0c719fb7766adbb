package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gofil/gofil/report"
)

// FuzzMetaFromSummary: gofil report reads back an earlier report's
// summary.json (one written before raw/meta.json); any contents give an
// error or a Meta, never a panic.
func FuzzMetaFromSummary(f *testing.F) {
	s := report.Summary{Schema: 1, Command: []string{"./job", "-n", "3"}, Target: "./job", ExitCode: 3, Ended: "killed by SIGTERM",
		Peak: &report.PeakInfo{RSSBytes: 1 << 30, HeapBytes: 1 << 29}, Notes: []string{"prebuilt binary: x"}}
	data, _ := json.Marshal(s)
	f.Add(data)
	f.Add([]byte(`{"oom_killed": true, "oom": {"limit_bytes": -1}, "duration_seconds": 1e308, "ended": "killed by "}`))
	f.Add([]byte(`{"peak": null, "notes": [null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, report.RawDir), 0o700)
		os.WriteFile(filepath.Join(dir, report.SummaryFile), data, 0o600)
		metaFromDir(dir, &report.Run{})
	})
}
