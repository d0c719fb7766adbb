package tracker

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// TestTimelineBounded: a day of readings every 20ms writes timelineEvery
// lines at each doubling of the window, about 130,000, not 4.3 million,
// and the largest heap of the day is on a line.
func TestTimelineBounded(t *testing.T) {
	dir := t.TempDir()
	f, err := createFile(dir, raw.TimelineFile, "")
	if err != nil {
		t.Fatal(err)
	}
	tr := &tracker{}
	tr.timeline = f
	tr.windowEnd = timelineWindow
	spike := 17*time.Hour + 980*time.Millisecond
	for at := time.Duration(0); at < 24*time.Hour; at += timelineWindow {
		heap := uint64(at/time.Second) % 1000
		if at == spike {
			heap = 1 << 40
		}
		tr.timelineAdd(peak.Memory{At: at, Heap: heap})
	}
	f.Close()
	data, err := os.ReadFile(filepath.Join(dir, raw.TimelineFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(data, []byte("\n"))
	t.Logf("a day: %d lines, %d bytes", lines, len(data))
	if lines < 8*timelineEvery || lines > 9*timelineEvery {
		t.Errorf("a day of readings wrote %d lines, want 8 to 9 times %d", lines, timelineEvery)
	}
	if !bytes.Contains(data, []byte("\t1099511627776\t")) {
		t.Errorf("the day's largest heap is on no line")
	}
}
