package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// gcLine is one line of GODEBUG=gctrace=1: the runtime's own figures for
// one GC, in MiB rounded down: the heap when the cycle started, at its mark
// termination, and what the mark found live.
type gcLine struct {
	n                   uint32
	start, atMark, live uint64
	forced              bool
}

var gcTraceLine = regexp.MustCompile(`^gc (\d+) @\S+ \S+: .* (\d+)->(\d+)->(\d+) MB`)

// parseGCTrace reads the gctrace lines of one process from its stderr.
// gofil keeps GODEBUG's tracing for the program alone (cli.OwnTraces), so
// under gofil run every such line is the program's.
func parseGCTrace(stderr string) map[uint32]gcLine {
	gcs := map[uint32]gcLine{}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		m := gcTraceLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var v [4]uint64
		for i := range v {
			v[i], _ = strconv.ParseUint(m[i+1], 10, 64)
		}
		gcs[uint32(v[0])] = gcLine{n: uint32(v[0]), start: v[1] << 20, atMark: v[2] << 20, live: v[3] << 20, forced: strings.HasSuffix(sc.Text(), "(forced)")}
	}
	return gcs
}

// busyLoops starts n processes that spin until the test ends (or a minute
// has passed), as a loaded shared machine: the tracker is then often held
// off the CPU around a GC.
func busyLoops(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	var cmds []*exec.Cmd
	for i := 0; i < n; i++ {
		cmd := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("busy loop: %v", err)
		}
		cmds = append(cmds, cmd)
	}
	t.Cleanup(func() {
		cancel()
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGKILL)
			c.Wait()
		}
	})
}

// TestExactFigureAgainstGCTrace holds the figure that judges gofil's
// sampled attribution, the runtime's exact heap at the peak's mark, to an
// independent referee: the runtime's own GODEBUG=gctrace=1 line for that
// GC, from the same process, beside two busy loops. gctrace's heap at the
// mark is the pacer's heapLive: for what was allocated since the mark
// before, it counts whole spans, their tail and in-span bitmaps included
// (mcache.refill), where gofil counts bytes in objects, as the heap
// profile and /memory/classes/heap/objects do. Measured on Go 1.26, the
// spans exceed the objects by 0.3% (pointer-free 16-byte objects) to 2.8%
// (two-entry maps; a decoded JSON document 2.6%). So where gofil states
// the figure, it is at most 1% above gctrace's (which rounds down to a
// MiB) and at most spanOverhead below it; where it cannot prove it, it
// says unknown, and its bounds still meet the referee's figure so. No
// correction for unswept garbage puts the heap above what the runtime had
// mapped for it. The count of runs is bounded; nothing is timed.
func TestExactFigureAgainstGCTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs programs beside busy loops")
	}
	busyLoops(t, 2)
	known, runs := 0, 0
	for _, name := range []string{"example", "manysizes", "appendgrow", "jsonload", "workerpool", "livegarbage", "oldgo"} {
		for i := 0; i < 2; i++ {
			out := filepath.Join(t.TempDir(), "report")
			r := gofilEnv(t, testdata(t, name), []string{"GODEBUG=gctrace=1", "TRUTH_OUT=" + filepath.Join(t.TempDir(), "truth.json")}, "run", "-o", out, ".")
			if r.code != 0 || r.summary == nil || r.summary.Peak == nil {
				t.Fatalf("%s: exit code %d, no peak\n%s", name, r.code, r.stderr)
			}
			runs++
			p := readRawPeak(t, out)
			gcs := parseGCTrace(r.stderr)
			if len(gcs) == 0 {
				t.Fatalf("%s: no gctrace line on stderr\n%s", name, r.stderr)
			}
			ref, ok := gcs[p.Cycle]
			if !ok {
				// The peak is at a GC gofil started after the program's
				// end, or outside any GC: nothing to referee.
				t.Logf("%s: peak at cycle %d (%s), no gctrace line for it", name, p.Cycle, p.Reason)
				continue
			}
			lo, hi := ref.atMark, ref.atMark+1<<20 // gctrace rounds down to a MiB
			t.Logf("%s: peak at gc %d, gctrace %d MiB at the mark; gofil exact %.1f MiB, bounds [%.1f, %.1f] MiB, sampled %.1f MiB, unswept %d", name, p.Cycle, ref.atMark>>20,
				float64(p.MarkExactBytes)/mib, float64(p.MarkLoBytes)/mib, float64(p.MarkHiBytes)/mib, float64(p.SampledBytes)/mib, p.UnsweptBytes)
			if e := p.MarkExactBytes; e != 0 {
				known++
				if float64(e) < float64(lo)*(1-spanOverhead) || float64(e) > float64(hi)*1.01 {
					t.Errorf("%s: exact heap at gc %d is %d bytes; gctrace says %d MiB (+1%%, −%.1f%%)", name, p.Cycle, e, ref.atMark>>20, 100*spanOverhead)
				}
			}
			if p.MarkHiBytes != 0 {
				// The bounds hold the referee's figure, to within what a
				// P's cached spans let the two figures differ by.
				slack := uint64(1 << 20)
				if float64(p.MarkHiBytes)+float64(slack) < float64(lo)*(1-spanOverhead) || float64(p.MarkLoBytes) > float64(hi)*1.01+float64(slack) {
					t.Errorf("%s: bounds [%d, %d] at gc %d miss gctrace's %d MiB", name, p.MarkLoBytes, p.MarkHiBytes, p.Cycle, ref.atMark>>20)
				}
			}
			if held := p.GoMappedBytes - p.GoReleasedBytes; p.ExactBytes > held && held > 0 {
				t.Errorf("%s: the heap at the peak, %d bytes, is more than the runtime held from the OS, %d", name, p.ExactBytes, held)
			}
			if p.UnsweptBytes > 0 && p.MarkHiBytes == 0 {
				t.Errorf("%s: a correction of %d bytes for unswept garbage with no bound on the heap at the mark", name, p.UnsweptBytes)
			}
			checkNoFalseAlarm(t, name, r.summary, ref)
		}
	}
	t.Logf("the exact figure was known in %d of %d runs", known, runs)
}

// spanOverhead is how much less than gctrace's heap at a mark the bytes in
// objects may be: the spans' tails and in-span bitmaps, 2.8% at most in
// the measurements above, and half a point for what a P's cached spans
// hold that neither count has flushed yet.
const spanOverhead = 0.035

// checkNoFalseAlarm: the note that the sampled heap and the exact one
// disagree may only be given when the exact one agrees with gctrace.
func checkNoFalseAlarm(t *testing.T, name string, s *summary.Summary, ref gcLine) {
	t.Helper()
	for _, n := range s.Notes {
		if strings.Contains(n, "more than sampling explains") && s.Peak.MarkHeapBytesExact == nil {
			t.Errorf("%s: a note rests on an unknown figure: %s", name, n)
		}
	}
}

func readRawPeak(t *testing.T, dir string) raw.Profile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rundir.RawDir, raw.PeakFile))
	if err != nil {
		t.Fatal(err)
	}
	var p raw.Profile
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("peak.json: %v", err)
	}
	return p
}
