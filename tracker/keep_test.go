package tracker

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
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
	tr.timeline = newTimeline(f)
	tr.windowEnd = timelineWindow
	spike := 17*time.Hour + 980*time.Millisecond
	for at := time.Duration(0); at < 24*time.Hour; at += timelineWindow {
		heap := uint64(at/time.Second) % 1000
		if at == spike {
			heap = 1 << 40
		}
		tr.timelineAdd(peak.Memory{At: at, Heap: heap})
	}
	tr.flushHeld()
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

// TestTimelineWritesTogether: the timeline's lines are held and written
// together, at most timelineFlushEvery after the first of them ended, and
// flushHeld writes what is held; no line is lost or reordered.
func TestTimelineWritesTogether(t *testing.T) {
	dir := t.TempDir()
	f, err := createFile(dir, raw.TimelineFile, "")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := &tracker{}
	tr.timeline = newTimeline(f)
	tr.windowEnd = timelineWindow
	lines := func() int {
		data, err := os.ReadFile(filepath.Join(dir, raw.TimelineFile))
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(data, []byte("\n"))
	}
	at := time.Duration(0)
	add := func(until time.Duration) {
		for ; at <= until; at += 5 * time.Millisecond {
			tr.timelineAdd(peak.Memory{At: at, Heap: uint64(at)})
		}
	}
	add(100 * time.Millisecond) // five windows
	if n := lines(); n != 0 {
		t.Errorf("%d lines written %v into the run, want them held", n, at)
	}
	add(timelineWindow + timelineFlushEvery)
	n := lines()
	if want := int(timelineFlushEvery / timelineWindow); n < want {
		t.Errorf("%d lines written %v into the run, want at least %d", n, at, want)
	}
	add(timelineWindow + timelineFlushEvery + 3*timelineWindow)
	tr.flushHeld()
	data, err := os.ReadFile(filepath.Join(dir, raw.TimelineFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bytes.Count(data, []byte("\n")), tr.timelineLines; got != want || got <= n {
		t.Errorf("%d lines after flushHeld, want all %d, more than %d", got, want, n)
	}
	last := int64(-1)
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		ms, err := strconv.ParseInt(string(bytes.SplitN(l, []byte("\t"), 2)[0]), 10, 64)
		if err != nil || ms <= last {
			t.Fatalf("line %q after t=%d ms", l, last)
		}
		last = ms
	}
}
