//go:build linux

package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a child that grows until it is killed.
const helperEnv = "GOFIL_CGROUP_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "grow" {
		os.Exit(grow())
	}
	os.Exit(m.Run())
}

// grow waits for a line on stdin, so that the parent can put it in the group
// first, then allocates and touches memory until the kernel kills it. If it
// reaches 1 GiB nothing limits it: it stops rather than take the machine.
func grow() int {
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	var held [][]byte
	for len(held) < 1024 {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
	}
	fmt.Fprintln(os.Stderr, "helper: 1 GiB allocated and still alive: not in a limited cgroup")
	return 3
}

func TestOOMKillInGroup(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("memory cgroups are not available here: %v", err)
	}
	selfBefore, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}

	const limit = 64 << 20
	g, err := New(fmt.Sprintf("test-%d", os.Getpid()), limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("cgroup v%d at %s", g.Version(), g.Path())
	limitFile := "memory.limit_in_bytes"
	if g.Version() == 2 {
		limitFile = "memory.max"
	}
	if got := strings.TrimSpace(readString(t, filepath.Join(g.Path(), limitFile))); got != strconv.Itoa(limit) {
		t.Fatalf("%s = %s, want %d", limitFile, got, limit)
	}
	before, err := g.OOMKills()
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=grow")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killed := false
	t.Cleanup(func() {
		if !killed {
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Error(err)
			}
			<-done
		}
	})

	if err := g.AddPID(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	procs := readString(t, filepath.Join(g.Path(), "cgroup.procs"))
	if !containsLine(procs, strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("child %d is not in the group: cgroup.procs = %q", cmd.Process.Pid, procs)
	}
	if containsLine(procs, strconv.Itoa(os.Getpid())) {
		t.Fatal("the test process itself is in the group")
	}

	start := time.Now()
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		killed = true
		t.Logf("child died %v after it started growing: %v", time.Since(start), err)
	case <-time.After(10 * time.Second):
		t.Fatal("the child is still alive after 10s")
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", cmd.ProcessState)
	}

	var after uint64
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		if after, err = g.OOMKills(); err != nil {
			t.Fatal(err)
		}
		if after > before || time.Now().After(deadline) {
			break
		}
	}
	if after <= before {
		t.Fatalf("OOMKills = %d, was %d: the kill was not counted", after, before)
	}
	t.Logf("OOMKills went from %d to %d", before, after)

	selfAfter, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if string(selfAfter) != string(selfBefore) {
		t.Fatalf("the test process moved cgroups:\n%s\nthen\n%s", selfBefore, selfAfter)
	}

	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Remove, %s: %v", g.Path(), err)
	}
	if err := g.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
}

// Remove moves a live process out before it removes the group.
func TestRemoveMovesProcessesOut(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("memory cgroups are not available here: %v", err)
	}
	g, err := New(fmt.Sprintf("test-rm-%d", os.Getpid()), 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep command: %v", err)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Error(err)
		}
		if err := cmd.Wait(); err == nil {
			t.Error("sleep 60 ended by itself")
		}
	})
	if err := g.AddPID(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Remove, %s: %v", g.Path(), err)
	}
}

func TestNewRejectsBadArguments(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if g, err := New(name, 1<<20); err == nil {
			if rerr := g.Remove(); rerr != nil {
				t.Error(rerr)
			}
			t.Errorf("New(%q) succeeded", name)
		}
	}
	if g, err := New("zero", 0); err == nil {
		if rerr := g.Remove(); rerr != nil {
			t.Error(rerr)
		}
		t.Error("New with a 0-byte limit succeeded")
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func containsLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

func TestFindTarget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		want    target // parent relative to the tree's root
		wantErr string
	}{{
		name: "hybrid, memory on v1",
		files: map[string]string{
			"proc/self/mountinfo":                                        hybridMountinfo,
			"proc/self/cgroup":                                           "4:memory:/process_api/abc\n1:cpu:/\n0::/\n",
			"sys/fs/cgroup/unified/cgroup.controllers":                   "\n",
			"sys/fs/cgroup/unified/cgroup.subtree_control":               "\n",
			"sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes": "9223372036854771712\n",
		},
		want: target{version: 1, parent: "sys/fs/cgroup/memory/process_api/abc"},
	}, {
		name: "v1 mount root",
		files: map[string]string{
			"proc/self/mountinfo":                            strings.Replace(hybridMountinfo, "0:32 / ", "0:32 /process_api ", 1),
			"proc/self/cgroup":                               "4:memory:/process_api/abc\n",
			"sys/fs/cgroup/memory/abc/memory.limit_in_bytes": "9223372036854771712\n",
		},
		want: target{version: 1, parent: "sys/fs/cgroup/memory/abc"},
	}, {
		name: "v2, memory delegated",
		files: map[string]string{
			"proc/self/mountinfo": "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"proc/self/cgroup":    "0::/user.slice/gofil.scope\n",
			"sys/fs/cgroup/user.slice/gofil.scope/cgroup.controllers":     "cpu io memory pids\n",
			"sys/fs/cgroup/user.slice/gofil.scope/cgroup.subtree_control": "memory pids\n",
		},
		want: target{version: 2, parent: "sys/fs/cgroup/user.slice/gofil.scope"},
	}, {
		name: "v2 root, memory to enable",
		files: map[string]string{
			"proc/self/mountinfo":                  "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"proc/self/cgroup":                     "0::/\n",
			"sys/fs/cgroup/cgroup.controllers":     "cpu memory\n",
			"sys/fs/cgroup/cgroup.subtree_control": "\n",
			"sys/fs/cgroup/cgroup.procs":           "1\n42\n",
		},
		want: target{version: 2, parent: "sys/fs/cgroup", enable: true},
	}, {
		name: "v2 busy cgroup",
		files: map[string]string{
			"proc/self/mountinfo":                      "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"proc/self/cgroup":                         "0::/job\n",
			"sys/fs/cgroup/job/cgroup.controllers":     "cpu memory\n",
			"sys/fs/cgroup/job/cgroup.subtree_control": "\n",
			"sys/fs/cgroup/job/cgroup.procs":           "42\n",
		},
		wantErr: "has processes",
	}, {
		name: "nothing",
		files: map[string]string{
			"proc/self/mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n",
			"proc/self/cgroup":    "0::/\n",
		},
		wantErr: "no cgroup v2 hierarchy with the memory controller and no cgroup v1 memory hierarchy is mounted",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tc.files)
			got, err := findTarget(root)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), errPrefix) {
					t.Fatalf("findTarget = %+v, %v; want an error with %q", got, err, tc.wantErr)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.parent = filepath.Join(root, tc.want.parent)
			if got != tc.want {
				t.Fatalf("findTarget = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestNewRemovesLeftovers: a cgroup that a gofil killed before it could
// remove its own left behind (gofil-PID, for a process that is gone) is
// removed when the next one is made; one whose process lives is not.
func TestNewRemovesLeftovers(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("no memory cgroup can be created here: %v", err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	left, err := New(strconv.Itoa(gone.Process.Pid), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer left.Remove()
	live, err := New(strconv.Itoa(os.Getpid()), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	next, err := New(fmt.Sprintf("test-%d", os.Getpid()), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Remove()
	if _, err := os.Stat(left.Path()); err == nil {
		t.Errorf("%s, left by a process that is gone, is still there", left.Path())
	}
	if _, err := os.Stat(live.Path()); err != nil {
		t.Errorf("%s, of a live process, was removed: %v", live.Path(), err)
	}
}
