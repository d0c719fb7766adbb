package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofil/gofil/cmd/gofil/internal/cgroup"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/rundir"
)

// TestOOMKill runs a program that grows until the kernel's out-of-memory
// killer ends it, under --memory-limit, and checks that the report was
// already on disk: the emergency dump attributes at least 90% of the heap
// to the growing function, and gofil exits 137.
func TestOOMKill(t *testing.T) {
	if err := cgroup.Available(); err != nil {
		t.Skipf("no memory cgroup can be created on this machine: %v", err)
	}
	const limit = 300 << 20
	out := filepath.Join(t.TempDir(), "report")
	env, home, _ := goEnvFor(t)
	r := gofilEnv(t, testdata(t, "oomgrow"), env, "run", "--memory-limit", "300M", "-o", out, ".")
	if r.code != 137 {
		t.Fatalf("exit code %d, want 137\n%s", r.code, r.stderr)
	}
	inOwnHome(t, home)
	if !strings.Contains(r.stderr, "killed by the out-of-memory killer") {
		t.Errorf("stderr does not say the out-of-memory killer ended the program:\n%s", r.stderr)
	}
	s := r.summary
	if s == nil || !s.OOMKilled || s.OOM == nil {
		t.Fatalf("summary.json does not record the OOM kill: %+v\n%s", s, r.stderr)
	}
	if s.OOM.LimitBytes != limit {
		t.Errorf("oom.limit_bytes = %d, want %d", s.OOM.LimitBytes, limit)
	}
	if s.OOM.Dumps < 1 || s.OOM.DumpedAtBytes < limit*9/10 || s.OOM.DumpedAtBytes > limit {
		t.Errorf("oom: %d dumps, last at %d bytes; want at least one at 90%%–100%% of %d", s.OOM.Dumps, s.OOM.DumpedAtBytes, limit)
	}
	// The dump's ledger is of the moment of the crossing: it adds up to
	// the resident set then, which was near the threshold.
	if l := s.OOM.Ledger; l == nil || !l.ResidentKnown || l.RSSBytes < limit*8/10 ||
		l.RemainderBytes > int64(l.RSSBytes)/50 || -l.RemainderBytes > int64(l.RSSBytes)/50 {
		t.Errorf("oom.ledger %+v: want the mappings read, the resident set near the threshold and the parts within 2%% of it", l)
	}
	var grow int64
	for _, f := range s.OOM.Functions {
		if f.Function == "main.growCache" {
			grow = f.Bytes
		}
	}
	t.Logf("last dump at %.1f%% of the limit, %.1f ms from threshold to disk; main.growCache holds %.1f%% of %d heap bytes",
		100*float64(s.OOM.DumpedAtBytes)/limit, 1000*s.OOM.DumpSeconds, 100*float64(grow)/float64(s.OOM.HeapBytes), s.OOM.HeapBytes)
	if s.OOM.HeapBytes == 0 || float64(grow) < 0.9*float64(s.OOM.HeapBytes) {
		t.Errorf("main.growCache holds %d of %d heap bytes in the emergency dump, want at least 90%%", grow, s.OOM.HeapBytes)
	}
	exact := int64(-1)
	if s.OOM.MarkHeapBytesExact != nil {
		exact = int64(*s.OOM.MarkHeapBytesExact)
	}
	t.Logf("dump: sampled %d bytes, exact at its mark %d (-1: none), refined %v, first on disk after %.1f ms", s.OOM.SampledBytes, exact, s.OOM.Refined, 1000*s.OOM.FirstDumpSeconds)
	if exact < 0 || !within(s.OOM.SampledBytes, exact, 0.03) {
		t.Errorf("the dump's sampled heap %d is not within 3%% of the runtime's exact figure at its mark, %d (-1: none)", s.OOM.SampledBytes, exact)
	} else if !within(grow, exact, 0.05) {
		// main.growCache holds all the program holds: its truth is the
		// heap at the mark, less the runtime's own few hundred KiB.
		t.Errorf("main.growCache holds %d bytes in the dump, want the heap at its mark, %d, ±5%%", grow, exact)
	}
	var dump raw.Profile
	if err := rundir.ReadRaw(filepath.Join(out, rundir.RawDir), raw.OOMFile, &dump); err != nil {
		t.Fatalf("emergency dump: %v", err)
	}
	for _, name := range []string{rundir.OOMProfile, rundir.OOMFolded} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("%s missing: %v", name, err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(out, rundir.SummaryFile))
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil || fields["oom_killed"] != true {
		t.Errorf("summary.json has no oom_killed: true")
	}
}

// inOwnHome fails t unless gofil kept the agent in the cache of home, the
// test's own: a test that runs gofil with the user's home would read and
// write the user's cache.
func inOwnHome(t *testing.T, home string) {
	t.Helper()
	if agents, _ := filepath.Glob(filepath.Join(home, ".cache", "gofil", "agent-*")); len(agents) != 1 {
		t.Errorf("agent directories in the test's home: %q, want one", agents)
	}
}

// TestMemoryLimitUnavailable checks the error when --memory-limit cannot be
// honoured; it runs only where no cgroup can be created.
func TestMemoryLimitUnavailable(t *testing.T) {
	if cgroup.Available() == nil {
		t.Skip("memory cgroups can be created here; TestOOMKill covers --memory-limit")
	}
	out := filepath.Join(t.TempDir(), "report")
	env, _, _ := goEnvFor(t)
	r := gofilEnv(t, testdata(t, "oldgo"), env, "run", "--memory-limit", "300M", "-o", out, ".")
	if r.code == 0 || !strings.Contains(r.stderr, "--memory-limit") {
		t.Errorf("exit code %d, stderr %q: want a clear --memory-limit error", r.code, r.stderr)
	}
}

// TestOOMKillInContainer runs gofil itself inside a memory cgroup with a
// limit, as in a container, without --memory-limit: the tracker finds the
// limit, dumps before it, and gofil recognises the kill from the cgroup's
// counter.
func TestOOMKillInContainer(t *testing.T) {
	if err := cgroup.Available(); err != nil {
		t.Skipf("no memory cgroup can be created on this machine: %v", err)
	}
	const limit = 600 << 20
	g, err := cgroup.New(fmt.Sprintf("test-%d", os.Getpid()), limit)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command(gofilBin, "run", "-o", out, ".")
	cmd.Dir = testdata(t, "oomgrow")
	env, home, _ := goEnvFor(t)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := g.StartInside(cmd.Start); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
		t.Fatalf("gofil: %v, want exit code 137\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "killed by the out-of-memory killer") {
		t.Errorf("stderr does not name the out-of-memory killer:\n%s", stderr.String())
	}
	inOwnHome(t, home)
	s := readSummary(t, out)
	if s == nil || !s.OOMKilled || s.OOM == nil || s.OOM.Dumps < 1 {
		t.Fatalf("summary.json does not record the OOM kill with a dump: %+v\n%s", s, stderr.String())
	}
	if s.OOM.LimitBytes != limit || !strings.HasPrefix(s.OOM.LimitSource, "cgroup") {
		t.Errorf("limit %d from %q, want %d from the cgroup", s.OOM.LimitBytes, s.OOM.LimitSource, limit)
	}
}
