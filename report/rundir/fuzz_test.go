package rundir

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

func FuzzParseTimeline(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("testdata", "run", "raw", raw.TimelineFile)); err == nil {
		f.Add(data)
	}
	f.Add([]byte(raw.TimelineHead + "10\t1\t2\t3\t4\t0\t5\n20\t-1\t2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		points, err := ParseTimeline(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 1; i < len(points); i++ {
			if points[i].At < 0 {
				t.Fatalf("point %d at %v", i, points[i].At)
			}
		}
	})
}

func FuzzParseRSS(f *testing.F) {
	var b bytes.Buffer
	writeRSS(&b, []RSSPoint{{0, 1 << 20}, {10 * time.Millisecond, 2 << 20}})
	f.Add(b.Bytes())
	f.Add([]byte("# t_ms\trss_bytes\n1e309\t5\nNaN\t1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		points, err := ParseRSS(bytes.NewReader(data))
		if err != nil {
			return
		}
		var again bytes.Buffer
		writeRSS(&again, points)
		back, err := ParseRSS(&again)
		if err != nil || len(back) != len(points) {
			t.Fatalf("what ParseRSS gave does not read back: %d points, then %d, %v", len(points), len(back), err)
		}
	})
}
