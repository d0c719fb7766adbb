package oomguard

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gofil/gofil/internal/procfs"
)

// writeTree creates files under root; names are slash-separated and relative.
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

const (
	gib = 1 << 30
	mib = 1 << 20

	// The mounts of a hybrid host like the project's machines.
	hybridMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	hostMeminfo = "MemTotal:       16777216 kB\nMemFree:         1000000 kB\nMemAvailable:   10485760 kB\n"
	unlimitedV1 = "9223372036854771712\n"
)

func TestDetectLimitV2Nested(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"proc/self/mountinfo":                "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
		"proc/self/cgroup":                   "0::/a/b/c\n",
		"proc/meminfo":                       hostMeminfo,
		"sys/fs/cgroup/a/memory.max":         "1073741824\n",
		"sys/fs/cgroup/a/b/memory.max":       "524288000\n",
		"sys/fs/cgroup/a/b/memory.current":   "123456\n",
		"sys/fs/cgroup/a/b/c/memory.max":     "max\n",
		"sys/fs/cgroup/a/b/c/memory.current": "1000\n",
	})
	l, err := detectLimit(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "sys/fs/cgroup/a/b")
	want := Limit{
		Bytes:     524288000,
		Source:    "cgroup v2 " + filepath.Join(dir, "memory.max"),
		UsagePath: filepath.Join(dir, "memory.current"),
	}
	if l != want {
		t.Fatalf("detectLimit = %+v, want %+v", l, want)
	}
	used, err := l.Usage()
	if err != nil || used != 123456 {
		t.Fatalf("Usage() = %d, %v; want 123456", used, err)
	}
}

// A container sees only its own part of the hierarchy: the mount's root field
// names it, and /proc/self/cgroup is relative to the hierarchy's root. Limits
// above the mount point are out of reach.
func TestDetectLimitV2MountRoot(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"proc/self/mountinfo":              "30 1 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		"proc/self/cgroup":                 "0::/kubepods/pod1/ctr\n",
		"proc/meminfo":                     hostMeminfo,
		"sys/fs/memory.max":                "1000\n", // above the mount point: never read
		"sys/fs/cgroup/memory.max":         "2147483648\n",
		"sys/fs/cgroup/ctr/memory.max":     "3221225472\n",
		"sys/fs/cgroup/ctr/memory.current": "1\n",
	})
	l, err := detectLimit(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "sys/fs/cgroup/memory.max"); l.Bytes != 2*gib || l.Source != "cgroup v2 "+want {
		t.Fatalf("detectLimit = %+v, want 2 GiB from %s", l, want)
	}
}

func TestDetectLimitV1Hierarchical(t *testing.T) {
	root := t.TempDir()
	// The hierarchy's /process_api is mounted at /sys/fs/cgroup/memory, and
	// the limit is set on it, above the process's own cgroup.
	mi := strings.Replace(hybridMountinfo, "0:32 / /sys/fs/cgroup/memory", "0:32 /process_api /sys/fs/cgroup/memory", 1)
	writeTree(t, root, map[string]string{
		"proc/self/mountinfo": mi,
		"proc/self/cgroup":    "9:name=systemd:/\n4:memory:/process_api/job1\n1:cpu:/\n0::/\n",
		"proc/meminfo":        hostMeminfo,
		"sys/fs/cgroup/memory/memory.limit_in_bytes":      "314572800\n",
		"sys/fs/cgroup/memory/memory.usage_in_bytes":      "2000\n",
		"sys/fs/cgroup/memory/job1/memory.limit_in_bytes": unlimitedV1,
		"sys/fs/cgroup/memory/job1/memory.usage_in_bytes": "1000\n",
		"sys/fs/cgroup/memory/job1/memory.stat":           "cache 0\nrss 1000\nhierarchical_memory_limit 314572800\nhierarchical_memsw_limit 9223372036854771712\n",
	})
	l, err := detectLimit(root)
	if err != nil {
		t.Fatal(err)
	}
	want := Limit{
		Bytes:     300 * mib,
		Source:    "cgroup v1 hierarchical_memory_limit in " + filepath.Join(root, "sys/fs/cgroup/memory/job1/memory.stat"),
		UsagePath: filepath.Join(root, "sys/fs/cgroup/memory/memory.usage_in_bytes"),
	}
	if l != want {
		t.Fatalf("detectLimit = %+v, want %+v", l, want)
	}
	if used, err := l.Usage(); err != nil || used != 2000 {
		t.Fatalf("Usage() = %d, %v; want 2000", used, err)
	}
}

func TestDetectLimitV1Own(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"proc/self/mountinfo": hybridMountinfo,
		"proc/self/cgroup":    "4:memory:/process_api/job1\n0::/\n",
		"proc/meminfo":        hostMeminfo,
		"sys/fs/cgroup/memory/process_api/job1/memory.limit_in_bytes": "67108864\n",
		"sys/fs/cgroup/memory/process_api/job1/memory.usage_in_bytes": "1000\n",
		"sys/fs/cgroup/memory/process_api/job1/memory.stat":           "hierarchical_memory_limit 67108864\n",
	})
	l, err := detectLimit(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "sys/fs/cgroup/memory/process_api/job1")
	want := Limit{
		Bytes:     64 * mib,
		Source:    "cgroup v1 " + filepath.Join(dir, "memory.limit_in_bytes"),
		UsagePath: filepath.Join(dir, "memory.usage_in_bytes"),
	}
	if l != want {
		t.Fatalf("detectLimit = %+v, want %+v", l, want)
	}
}

// With no cgroup limit, the limit is what the process could still grow to:
// its resident size plus the host's available memory.
func TestDetectLimitNoLimitHostFallback(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"proc/self/mountinfo": hybridMountinfo,
		"proc/self/cgroup":    "4:memory:/process_api/job1\n0::/\n",
		"proc/meminfo":        hostMeminfo,
		"proc/self/statm":     "5000 256 100 10 0 300 0\n",
		"sys/fs/cgroup/memory/process_api/job1/memory.limit_in_bytes": unlimitedV1,
		"sys/fs/cgroup/memory/process_api/job1/memory.stat":           "hierarchical_memory_limit " + unlimitedV1,
		// A cgroup limit the host cannot reach does not apply either.
		"sys/fs/cgroup/unified/memory.max": "34359738368\n",
	})
	l, err := detectLimit(root)
	if err != nil {
		t.Fatal(err)
	}
	rss := uint64(256 * os.Getpagesize())
	want := Limit{
		Bytes:     10*gib + rss,
		Source:    "host MemAvailable",
		UsagePath: filepath.Join(root, "proc/self/statm"),
	}
	if l != want {
		t.Fatalf("detectLimit = %+v, want %+v", l, want)
	}
	if used, err := l.Usage(); err != nil || used != rss {
		t.Fatalf("Usage() = %d, %v; want %d", used, err, rss)
	}
}

func TestDetectLimitHostOnly(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"proc/meminfo":    "MemTotal: 1048576 kB\nMemFree: 10 kB\n",
		"proc/self/statm": "5000 256 100 10 0 300 0\n",
	})
	l, err := detectLimit(root)
	if err != nil {
		t.Fatal(err)
	}
	if l.Bytes != gib || l.Source != "host MemTotal" {
		t.Fatalf("detectLimit = %+v, want 1 GiB from host MemTotal", l)
	}
}

func TestDetectLimitNothing(t *testing.T) {
	if l, err := detectLimit(t.TempDir()); err == nil {
		t.Fatalf("detectLimit on an empty tree = %+v, want an error", l)
	}
}

// TestDetectLimitReal checks the real machine only for sanity: whatever the
// limit is, the process uses some of it and it is no more than the host has.
func TestDetectLimitReal(t *testing.T) {
	l, err := DetectLimit()
	if err != nil {
		t.Fatal(err)
	}
	used, err := l.Usage()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("limit %d bytes (%.1f GiB) from %s; usage %d bytes from %s",
		l.Bytes, float64(l.Bytes)/gib, l.Source, used, l.UsagePath)
	if l.Bytes < 16*mib || l.Source == "" || used == 0 {
		t.Fatalf("DetectLimit = %+v with usage %d: not plausible", l, used)
	}
	if mi, err := readMeminfo("/proc/meminfo"); err == nil && l.Bytes > mi.total {
		t.Fatalf("limit %d is above MemTotal %d", l.Bytes, mi.total)
	}
}

func TestParseUsage(t *testing.T) {
	for _, tc := range []struct {
		in    string
		statm bool
		want  uint64
		ok    bool
	}{
		{"123\n", false, 123, true},
		{"   18446744073709551615\n", false, 1<<64 - 1, true},
		{"18446744073709551616\n", false, 0, false},
		{"", false, 0, false},
		{"max\n", false, 0, false},
		{"12x\n", false, 0, false},
		{"765 396 368 5 0 123 0\n", true, 396 * 4096, true},
		{"765\n", true, 0, false},
	} {
		got, err := parseUsage([]byte(tc.in), tc.statm, 4096, "f")
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseUsage(%q, %v) = %d, %v; want %d, ok %v", tc.in, tc.statm, got, err, tc.want, tc.ok)
		}
	}
}

func TestUsageAllocs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "memory.current")
	if err := os.WriteFile(p, []byte(strconv.Itoa(4096)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := Limit{Bytes: 1 << 20, UsagePath: p}
	if _, err := l.Usage(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := l.Usage(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Usage allocates %v times per call", n)
	}
}

func BenchmarkUsage(b *testing.B) {
	l, err := DetectLimit()
	if err != nil {
		b.Fatal(err)
	}
	paths := map[string]string{"detected": l.UsagePath, "statm": "/proc/self/statm"}
	if v1, err := procfs.ReadCgroups("/proc/self/cgroup"); err == nil {
		for _, c := range v1 {
			if procfs.Has(c.Controllers, "memory") {
				paths["v1-usage_in_bytes"] = filepath.Join("/sys/fs/cgroup/memory", c.Path, "memory.usage_in_bytes")
			}
		}
	}
	for name, p := range paths {
		p := p
		if _, err := os.Stat(p); err != nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			l := Limit{Bytes: 1, UsagePath: p}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := l.Usage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
