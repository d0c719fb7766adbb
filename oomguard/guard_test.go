package oomguard

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeUsage is a usage file the test rewrites in place, at a fixed width, so
// that the guard never reads a half-written number.
type fakeUsage struct {
	t    *testing.T
	f    *os.File
	path string
}

func newFakeUsage(t *testing.T, v uint64) *fakeUsage {
	t.Helper()
	path := filepath.Join(t.TempDir(), "memory.current")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	u := &fakeUsage{t: t, f: f, path: path}
	u.set(v)
	return u
}

func (u *fakeUsage) set(v uint64) {
	u.t.Helper()
	if _, err := u.f.WriteAt([]byte(fmt.Sprintf("%20d\n", v)), 0); err != nil {
		u.t.Fatal(err)
	}
}

func (u *fakeUsage) limit(bytes uint64) Limit {
	return Limit{Bytes: bytes, Source: "test", UsagePath: u.path}
}

// events starts a guard whose action sends its events to the returned channel.
func startWithEvents(t *testing.T, opts ...Option) (*Guard, <-chan Event) {
	t.Helper()
	ch := make(chan Event, 16)
	opts = append(opts, WithInterval(time.Millisecond), WithOnTrigger(func(ev Event) { ch <- ev }))
	g, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Stop(); err != nil {
			t.Error(err)
		}
	})
	return g, ch
}

func expectEvent(t *testing.T, ch <-chan Event, usage uint64, level int) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev.Usage != usage || ev.Level != level || ev.Limit != 1000 || ev.At.IsZero() {
			t.Fatalf("event %+v, want usage %d at level %d of 1000", ev, usage, level)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no event for usage %d at level %d", usage, level)
	}
}

// quietFor is how long a test waits to conclude that nothing fires: many
// polling intervals.
const quietFor = 50 * time.Millisecond

func expectNone(t *testing.T, ch <-chan Event) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(quietFor):
	}
}

func TestGuardLevels(t *testing.T) {
	u := newFakeUsage(t, 100)
	g, ch := startWithEvents(t, WithLimit(u.limit(1000)))
	if g.Limit().Bytes != 1000 {
		t.Fatalf("Limit() = %+v", g.Limit())
	}
	expectNone(t, ch)

	u.set(900) // 90% of 1000
	expectEvent(t, ch, 900, 1)
	expectNone(t, ch) // level 1 fired once, not on every poll

	u.set(949) // the next level is 900 + (1000-900)/2 = 950
	expectNone(t, ch)
	u.set(950)
	expectEvent(t, ch, 950, 2)

	u.set(999) // jumps past 975: one trigger, one level
	expectEvent(t, ch, 999, 3)
	expectNone(t, ch)

	u.set(1200) // past the limit
	expectEvent(t, ch, 1200, 4)

	u.set(5000) // DefaultMaxLevels reached: the guard has stopped polling
	expectNone(t, ch)
}

func TestGuardMaxLevelsAndThreshold(t *testing.T) {
	u := newFakeUsage(t, 0)
	_, ch := startWithEvents(t, WithLimit(u.limit(1000)), WithThreshold(0.5), WithMaxLevels(2))
	u.set(499)
	expectNone(t, ch)
	u.set(500)
	expectEvent(t, ch, 500, 1)
	u.set(800)
	expectEvent(t, ch, 800, 2)
	u.set(1000)
	expectNone(t, ch)
}

func TestGuardMinGap(t *testing.T) {
	u := newFakeUsage(t, 950)
	gap := 300 * time.Millisecond
	_, ch := startWithEvents(t, WithLimit(u.limit(1000)), WithMinGap(gap))
	expectEvent(t, ch, 950, 1)
	end := time.Now()
	u.set(990)
	select {
	case ev := <-ch:
		if d := time.Since(end); d < gap {
			t.Fatalf("second event %v after the first, want at least %v", d, gap)
		}
		if ev.Level != 2 {
			t.Fatalf("event %+v, want level 2", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no second event")
	}
}

func TestNextLevel(t *testing.T) {
	for _, tc := range []struct{ used, limit, want uint64 }{
		{900, 1000, 950},
		{950, 1000, 975},
		{998, 1000, 999},
		{999, 1000, 1000},
		{1000, 1000, 1001},
		{5000, 1000, 5001},
		{0, 1 << 63, 1 << 62},
	} {
		if got := nextLevel(tc.used, tc.limit); got != tc.want {
			t.Errorf("nextLevel(%d, %d) = %d, want %d", tc.used, tc.limit, got, tc.want)
		}
	}
}

// TestPollDelay: the guard reads every interval within growthBound·interval
// of the next level, and less often the farther below it usage is, never
// more than ten intervals apart: a job growing at growthBound could not
// cross the level unseen between two reads.
func TestPollDelay(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		used, next uint64
		interval   time.Duration
		want       time.Duration
	}{
		{0, 1000, 2 * ms, 2 * ms},                            // a small limit: every interval
		{900, 1000, 2 * ms, 2 * ms},                          // at the level
		{2000, 1000, 2 * ms, 2 * ms},                         // past it
		{0, 2 * growthBound, 2 * ms, 2 * ms},                 // 2 ms away at growthBound
		{0, 7 * growthBound, 2 * ms, 7 * ms},                 // 7 ms away
		{growthBound, 8 * growthBound, 2 * ms, 7 * ms},       // the same distance higher up
		{0, 1 << 40, 2 * ms, 20 * ms},                        // far: ten intervals
		{0, 1 << 40, 5 * ms, 50 * ms},                        // ten of a longer interval
		{0, 30 * growthBound, 5 * ms, 30 * ms},               // between
		{0, growthBound + growthBound/2, 2 * ms, 2 * ms},     // under one interval
		{0, 10*growthBound + growthBound/2, 2 * ms, 10 * ms}, // whole milliseconds, rounded down
	} {
		if got := pollDelay(tc.used, tc.next, tc.interval); got != tc.want {
			t.Errorf("pollDelay(%d, %d, %v) = %v, want %v", tc.used, tc.next, tc.interval, got, tc.want)
		}
	}
}

// TestGuardFarFromLimitStillFires: a guard far below a large limit, reading
// seldom, still fires within a few of its longest delays once usage jumps
// past the threshold.
func TestGuardFarFromLimitStillFires(t *testing.T) {
	u := newFakeUsage(t, 0)
	_, ch := startWithEvents(t, WithLimit(u.limit(1<<40)))
	time.Sleep(50 * time.Millisecond)
	set := time.Now()
	u.set(1 << 40)
	select {
	case ev := <-ch:
		if ev.Usage != 1<<40 || ev.Level != 1 {
			t.Errorf("event %+v, want usage %d at level 1", ev, uint64(1<<40))
		}
		// At most ten intervals (20 ms) late, with time for a loaded
		// machine.
		if d := time.Since(set); d > time.Second {
			t.Errorf("fired %v after the crossing", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}

func TestStopIdempotent(t *testing.T) {
	u := newFakeUsage(t, 0)
	g, err := Start(WithLimit(u.limit(1000)), WithOnTrigger(func(Event) {}))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.Stop()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Stop #%d: %v", i, err)
		}
	}
	if err := g.Stop(); err != nil {
		t.Errorf("Stop again: %v", err)
	}
}

// Stop waits for a running action, so nothing runs after it returns.
func TestStopWaitsForAction(t *testing.T) {
	u := newFakeUsage(t, 1000)
	started := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	finished := false
	g, err := Start(WithLimit(u.limit(1000)), WithInterval(time.Millisecond), WithOnTrigger(func(Event) {
		close(started)
		<-release
		mu.Lock()
		finished = true
		mu.Unlock()
	}), WithMaxLevels(1))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	go func() {
		time.Sleep(quietFor)
		close(release)
	}()
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !finished {
		t.Fatal("Stop returned while the action was running")
	}
}

func TestStopReportsReadError(t *testing.T) {
	u := newFakeUsage(t, 0)
	g, err := Start(WithLimit(u.limit(1000)), WithInterval(time.Millisecond), WithOnTrigger(func(Event) {}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.f.WriteAt([]byte("not a number        \n"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(quietFor)
	err = g.Stop()
	if err == nil || !strings.Contains(err.Error(), "unexpected contents") {
		t.Fatalf("Stop() = %v, want the read error", err)
	}
	if err2 := g.Stop(); err2 != err {
		t.Fatalf("second Stop() = %v, want %v", err2, err)
	}
}

func TestStartErrors(t *testing.T) {
	u := newFakeUsage(t, 0)
	act := WithOnTrigger(func(Event) {})
	for name, opts := range map[string][]Option{
		"no action":     {WithLimit(u.limit(1000))},
		"threshold 0":   {act, WithLimit(u.limit(1000)), WithThreshold(0)},
		"threshold 1.5": {act, WithLimit(u.limit(1000)), WithThreshold(1.5)},
		"interval 0":    {act, WithLimit(u.limit(1000)), WithInterval(0)},
		"levels 0":      {act, WithLimit(u.limit(1000)), WithMaxLevels(0)},
		"negative gap":  {act, WithLimit(u.limit(1000)), WithMinGap(-time.Second)},
		"zero limit":    {act, WithLimit(u.limit(0))},
		"no usage file": {act, WithLimit(Limit{Bytes: 1000, UsagePath: filepath.Join(t.TempDir(), "missing")})},
		"no usage path": {act, WithLimit(Limit{Bytes: 1000})},
	} {
		if g, err := Start(opts...); err == nil {
			if serr := g.Stop(); serr != nil {
				t.Error(serr)
			}
			t.Errorf("%s: Start succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestDefaultActionWritesHeapProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oom")
	u := newFakeUsage(t, 0)
	g, err := Start(WithDir(dir), WithLimit(u.limit(1000)), WithInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	u.set(920)

	var sidecar string
	deadline := time.Now().Add(10 * time.Second)
	for sidecar == "" {
		if time.Now().After(deadline) {
			t.Fatal("no sidecar written")
		}
		time.Sleep(5 * time.Millisecond)
		m, err := filepath.Glob(filepath.Join(dir, "oom-*-1.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) > 0 {
			sidecar = m[0]
		}
	}
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(sidecar)
	if err != nil {
		t.Fatal(err)
	}
	var info dumpInfo
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatalf("%s: %v", sidecar, err)
	}
	if info.UsageBytes != 920 || info.LimitBytes != 1000 || info.Level != 1 || info.PID != os.Getpid() ||
		info.LimitSource != "test" || info.UsagePath != u.path {
		t.Fatalf("sidecar %+v", info)
	}
	if at, err := time.Parse(time.RFC3339Nano, info.Time); err != nil || time.Since(at) > time.Minute {
		t.Fatalf("sidecar time %q: %v", info.Time, err)
	}
	if want := strings.TrimSuffix(filepath.Base(sidecar), ".json") + ".pb.gz"; info.Profile != want {
		t.Fatalf("sidecar names profile %q, want %q", info.Profile, want)
	}

	f, err := os.Open(filepath.Join(dir, info.Profile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("profile is not gzip: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	// A profile.proto message starts with field 1 (sample_type), wire type 2.
	if len(raw) < 16 {
		t.Fatalf("profile is only %d bytes", len(raw))
	}
	// The string table of a heap profile.proto names its sample types.
	if !strings.Contains(string(raw), "inuse_space") {
		t.Fatalf("heap profile has no inuse_space sample type: % x...", raw[:16])
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
