package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// TestHeapAtAnyMoment: testdata/phases holds its data in three phases, one
// function each. `gofil report --at` in the middle of each phase writes the
// heap at a GC mark inside it: that phase's function holds what the
// program measured it keeps, live, within the sampling tolerance (about
// ±5% at --rate 4096), and the other phases' functions next to nothing.
func TestHeapAtAnyMoment(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "report")
	truthFile := filepath.Join(tmp, "truth.json")
	r := gofilEnv(t, testdata(t, "phases"), []string{"TRUTH_OUT=" + truthFile}, "run", "--rate", "4096", "-o", out, ".")
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	var truth struct {
		Phases []struct {
			Function string
			Bytes    int64
			FromMS   int64 `json:"from_ms"`
			ToMS     int64 `json:"to_ms"`
		}
	}
	if err := json.Unmarshal(data, &truth); err != nil || len(truth.Phases) != 3 {
		t.Fatalf("truth %s: %v", data, err)
	}
	mark := regexp.MustCompile(`heap at GC (\d+)'s mark, ([0-9.]+)s into the run`)
	for _, p := range truth.Phases {
		from, to := p.FromMS, p.ToMS
		at := fmt.Sprintf("%dms", (from+to)/2)
		a := gofil(t, tmp, "report", "--at", at, out)
		if a.code != 0 {
			t.Fatalf("report --at %s: exit code %d\n%s", at, a.code, a.stderr)
		}
		m := mark.FindStringSubmatch(a.stderr)
		if m == nil {
			t.Fatalf("report --at %s does not say which mark:\n%s", at, a.stderr)
		}
		sec, _ := strconv.ParseFloat(m[2], 64)
		if ms := int64(sec * 1000); ms < from || ms > to {
			t.Errorf("--at %s: the mark at %dms is outside %s's phase, %d..%dms", at, ms, p.Function, from, to)
		}
		path := strings.TrimSpace(a.stdout)
		if d, _ := time.ParseDuration(at); path != filepath.Join(out, "heap-at-"+d.String()+".pb.gz") {
			t.Errorf("--at %s wrote %q", at, path)
		}
		held, live := heldBy(t, path)
		rate := r.summary.SamplingRate
		t.Logf("%s at %s (GC %s): %.1f MiB, %.1f MiB live (truth %.1f MiB, %+.1f%%)", p.Function, at, m[1], float64(held[p.Function])/mib, float64(live[p.Function])/mib, float64(p.Bytes)/mib, pct(held[p.Function], p.Bytes))
		if tol := samplingTolerance(p.Bytes, rate); !within(held[p.Function], p.Bytes, tol) || !within(live[p.Function], p.Bytes, tol) {
			t.Errorf("%s at %s: %d bytes, %d live; the program measured %d (±%.1f%%)", p.Function, at, held[p.Function], live[p.Function], p.Bytes, 100*tol)
		}
		for _, q := range truth.Phases {
			if q.Function != p.Function && held[q.Function] > p.Bytes/50 {
				t.Errorf("at %s, in %s's phase, %s holds %d bytes", at, p.Function, q.Function, held[q.Function])
			}
		}
	}
}

// heldBy sums a heap profile's in-use and live bytes per function on the
// stack, each sample counted once per function.
func heldBy(t *testing.T, path string) (held, live map[string]int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	inuse, liveIdx := -1, -1
	for i, st := range p.SampleType {
		switch st.Type {
		case "inuse_space":
			inuse = i
		case "live_space":
			liveIdx = i
		}
	}
	if inuse < 0 || liveIdx < 0 {
		t.Fatalf("%s: sample types %v", path, p.SampleType)
	}
	held, live = map[string]int64{}, map[string]int64{}
	for _, s := range p.Sample {
		seen := map[string]bool{}
		for _, loc := range s.Location {
			for _, ln := range loc.Line {
				if fn := ln.Function.Name; !seen[fn] {
					seen[fn] = true
					held[fn] += s.Value[inuse]
					live[fn] += s.Value[liveIdx]
				}
			}
		}
	}
	return held, live
}
