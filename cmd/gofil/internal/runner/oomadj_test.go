package runner

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestShieldedWhileChildRuns checks that gofil is out of the out-of-memory
// killer's reach while its child runs, that the child keeps the setting
// gofil had, and that gofil's setting is put back when the child ends.
func TestShieldedWhileChildRuns(t *testing.T) {
	before := readAdj(t, "/proc/self/oom_score_adj")
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("-1000"), 0); err != nil {
		t.Skipf("this process cannot lower its oom_score_adj: %v", err)
	}
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte(before), 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Config{
		Path:   "/bin/sh",
		Args:   []string{"-c", `cat /proc/self/oom_score_adj /proc/$PPID/oom_score_adj`},
		Stdout: &out,
		Stderr: os.Stderr,
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v, %s", err, res.Describe())
	}
	lines := strings.Fields(out.String())
	if len(lines) != 2 {
		t.Fatalf("child printed %q, want two values", out.String())
	}
	if lines[0] != before {
		t.Errorf("the child's oom_score_adj is %s, want %s, the value it inherits", lines[0], before)
	}
	if lines[1] != "-1000" {
		t.Errorf("gofil's oom_score_adj while the child runs is %s, want -1000", lines[1])
	}
	if after := readAdj(t, "/proc/self/oom_score_adj"); after != before {
		t.Errorf("gofil's oom_score_adj after the run is %s, want %s as before", after, before)
	}
}

func readAdj(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Skipf("no %s: %v", file, err)
	}
	return strings.TrimSpace(string(b))
}
