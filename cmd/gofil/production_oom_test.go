package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofil/gofil/cmd/gofil/internal/cgroup"
	"github.com/gofil/gofil/internal/raw"
)

// TestProductionOOMKill runs a gofil-built testdata/oomgrow directly in a
// memory cgroup with a limit, as a container runs it, with no gofil
// process: the kernel's out-of-memory killer ends it, and gofil report of
// its run directory says it was a production run killed by the
// out-of-memory killer, and finds main.growCache holding at least 90% of
// the last emergency dump's heap and, as the program holds nothing else,
// the runtime's exact heap at that dump's mark within 5%.
func TestProductionOOMKill(t *testing.T) {
	if err := cgroup.Available(); err != nil {
		t.Skipf("no memory cgroup can be created on this machine: %v", err)
	}
	const limit = 300 << 20
	bin := gofilBuild(t, "oomgrow")
	g, err := cgroup.New(fmt.Sprintf("prodtest-%d", os.Getpid()), limit)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	out := filepath.Join(t.TempDir(), "runs")
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(withoutGofilEnv(), "GOFIL_OUT="+out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := g.StartInside(cmd.Start); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the program ended with %v, want SIGKILL\n%s", err, stderr.String())
	}
	if kills, err := g.OOMKills(); err != nil || kills < 1 {
		t.Fatalf("the cgroup counted %d out-of-memory kills (%v), want one", kills, err)
	}
	if strings.Contains(stderr.String(), "gofil") {
		t.Errorf("the tracker wrote on the program's stderr:\n%s", stderr.String())
	}
	dirs := runDirs(t, out)
	if len(dirs) != 1 {
		t.Fatalf("%d run directories, want 1", len(dirs))
	}
	if _, err := os.Stat(filepath.Join(dirs[0], raw.SubDir, raw.OOMFile)); err != nil {
		t.Fatalf("no emergency dump in the run directory: %v", err)
	}
	s, r := reportOf(t, dirs[0])
	if !strings.Contains(r.stderr, "production run") || !strings.Contains(r.stderr, "killed by the out-of-memory killer") {
		t.Errorf("the report does not say it was a production run killed by the out-of-memory killer:\n%s", r.stderr)
	}
	if !s.OOMKilled || s.Ended != "killed by the out-of-memory killer" || s.ExitCode != -1 {
		t.Errorf("oom_killed %v, ended %q, exit code %d; want true, the out-of-memory killer, -1", s.OOMKilled, s.Ended, s.ExitCode)
	}
	if l := gofil(t, out, "report", out); l.code != 0 || !strings.HasSuffix(l.stdout, "  killed by the out-of-memory killer\n") {
		t.Errorf("gofil report %s: exit code %d, %q; want its run listed as killed by the out-of-memory killer", out, l.code, l.stdout)
	}
	if s.OOM == nil || s.OOM.Dumps < 1 {
		t.Fatalf("summary.json has no emergency dump: %+v\n%s", s.OOM, r.stderr)
	}
	if s.OOM.LimitBytes != limit || !strings.HasPrefix(s.OOM.LimitSource, "cgroup") {
		t.Errorf("limit %d from %q, want %d from the cgroup", s.OOM.LimitBytes, s.OOM.LimitSource, limit)
	}
	var grow int64
	for _, f := range s.OOM.Functions {
		if f.Function == "main.growCache" {
			grow = f.Bytes
		}
	}
	exact := int64(-1)
	if s.OOM.MarkHeapBytesExact != nil {
		exact = int64(*s.OOM.MarkHeapBytesExact)
	}
	t.Logf("%d dumps, the last at %.1f%% of the limit, %.1f ms from threshold to disk; main.growCache holds %d of %d heap bytes (%.1f%%); exact heap at its mark %d (-1: none)",
		s.OOM.Dumps, 100*float64(s.OOM.DumpedAtBytes)/limit, 1000*s.OOM.DumpSeconds, grow, s.OOM.HeapBytes, 100*float64(grow)/float64(s.OOM.HeapBytes), exact)
	if s.OOM.HeapBytes == 0 || float64(grow) < 0.9*float64(s.OOM.HeapBytes) {
		t.Errorf("main.growCache holds %d of %d heap bytes in the emergency dump, want at least 90%%", grow, s.OOM.HeapBytes)
	}
	// main.growCache holds all the program holds: its truth is the heap
	// at the dump's mark, less the runtime's own few hundred KiB.
	if exact < 0 || !within(grow, exact, 0.05) {
		t.Errorf("main.growCache holds %d bytes in the dump, want the heap at its mark, %d (-1: none), ±5%%", grow, exact)
	}
}
