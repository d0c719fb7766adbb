package procfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadMountinfoEscapes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mountinfo")
	line := `36 35 98:0 /my\040root /sys/fs/cgroup/my\040mem rw,noatime master:1 shared:2 - cgroup cgroup rw,memory` + "\n"
	if err := os.WriteFile(p, []byte(line+"garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMountinfo(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Mount{Root: "/my root", Point: "/sys/fs/cgroup/my mem", FSType: "cgroup", SuperOpts: "rw,memory"}
	if len(ms) != 1 || ms[0] != want {
		t.Fatalf("ReadMountinfo = %+v, want [%+v]", ms, want)
	}
}

func TestResolveCgroupDir(t *testing.T) {
	for _, tc := range []struct {
		mountRoot, cgPath, want string
		ok                      bool
	}{
		{"/", "/", "/m", true},
		{"/", "/a/b", "/m/a/b", true},
		{"/a", "/a/b", "/m/b", true},
		{"/a", "/a", "/m", true},
		{"/a", "/ab/c", "", false},
		{"/x", "/a/b", "", false},
		{"/", "/../../a", "/m", true},
		{"/../x", "/", "/m", true},
	} {
		got, ok := ResolveCgroupDir("/m", tc.mountRoot, tc.cgPath)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ResolveCgroupDir(/m, %q, %q) = %q, %v; want %q, %v", tc.mountRoot, tc.cgPath, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHighWater(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status")
	os.WriteFile(path, []byte("Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1724 kB\nVmRSS:\t    1500 kB\n"), 0o600)
	got, err := HighWater(path)
	if err != nil || got != 1724*1024 {
		t.Errorf("HighWater = %d, %v; want %d", got, err, 1724*1024)
	}
	os.WriteFile(path, []byte("Name:\tx\n"), 0o600)
	if _, err := HighWater(path); err == nil {
		t.Error("a status file without VmHWM gave no error")
	}
	self, err := HighWater("/proc/self/status")
	if err != nil || self == 0 {
		t.Errorf("own high-water mark %d, %v", self, err)
	}
}

func TestStatusHighWater(t *testing.T) {
	for in, want := range map[string]uint64{
		"Name:\tx\nVmHWM:\t    1724 kB\nVmRSS:\t 1 kB\n": 1724 * 1024,
		"VmHWM:\t1 kB":                      1024,
		"VmHWM:\t1 MB\n":                    0,
		"VmHWM:\t kB\n":                     0,
		"VmHWM:\t99999999999999999999 kB\n": 0,
		"VmRSS:\t1 kB\n":                    0,
		"":                                  0,
	} {
		got, ok := StatusHighWater([]byte(in))
		if got != want || ok != (want != 0) {
			t.Errorf("StatusHighWater(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	b := []byte("Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1724 kB\n")
	if n := testing.AllocsPerRun(100, func() { StatusHighWater(b) }); n != 0 {
		t.Errorf("StatusHighWater allocates %v times a call, want 0", n)
	}
}

func TestStatm(t *testing.T) {
	for in, want := range map[string][3]uint64{
		"1000 250 40 10 0 300 0\n": {250, 40, 1},
		"1000 250 40":              {250, 40, 1},
		"1000 x 40\n":              {0, 0, 0},
		"":                         {0, 0, 0},
		"99999999999999999999 1 1": {0, 0, 0},
	} {
		r, s, ok := Statm([]byte(in))
		if r != want[0] || s != want[1] || ok != (want[2] == 1) {
			t.Errorf("Statm(%q) = %d, %d, %v; want %d, %d, %v", in, r, s, ok, want[0], want[1], want[2] == 1)
		}
	}
}
