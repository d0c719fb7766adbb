package oomguard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofil/gofil/internal/procfs"
)

// Limit is the memory limit that applies to the current process and the file
// its usage is read from.
//
//	l, err := oomguard.DetectLimit()
//	if err != nil {
//		return err
//	}
//	fmt.Printf("%d bytes (%s)\n", l.Bytes, l.Source)
type Limit struct {
	// Bytes is the limit.
	Bytes uint64
	// Source says where the limit comes from, for people: for example
	// "cgroup v2 /sys/fs/cgroup/job/memory.max",
	// "cgroup v1 hierarchical_memory_limit in /sys/fs/cgroup/memory/job/memory.stat"
	// or "host MemAvailable".
	Source string
	// UsagePath is the file the usage counted against Bytes is read from: a
	// file holding one decimal number of bytes (memory.current,
	// memory.usage_in_bytes), or a file named "statm" in /proc format, whose
	// resident page count is used.
	UsagePath string
}

// noLimit reports whether a cgroup limit value means "unlimited". The kernel
// writes "max" (v2) or PAGE_COUNTER_MAX in bytes, a page-aligned value just
// below MaxInt64 (v1); nothing real comes near 4 EiB.
func noLimit(v uint64) bool { return v >= 1<<62 }

// DetectLimit returns the effective memory limit of the current process: the
// smallest of the cgroup v2 memory.max values from the process's cgroup up to
// the cgroup2 mount point, and of the cgroup v1 memory cgroup's
// memory.limit_in_bytes and hierarchical_memory_limit. A cgroup limit at or
// above the host's MemTotal cannot be reached and is ignored. When no cgroup
// limit applies, the limit is this process's resident size plus the host's
// MemAvailable (at most MemTotal), measured now, and the usage is the
// process's resident size. It reads /proc and /sys: on systems other than
// Linux it returns an error, and a guard needs WithLimit.
//
//	l, err := oomguard.DetectLimit()
//	if err != nil {
//		return err
//	}
//	used, err := l.Usage()
//	if err != nil {
//		return err
//	}
//	fmt.Printf("%.0f%% of %s\n", 100*float64(used)/float64(l.Bytes), l.Source)
func DetectLimit() (Limit, error) {
	return detectLimit("/")
}

// detectLimit is DetectLimit over a file tree rooted at root, so that tests
// can use fake /proc and /sys trees.
func detectLimit(root string) (Limit, error) {
	mounts, mountErr := procfs.ReadMountinfo(filepath.Join(root, "proc/self/mountinfo"))
	cgroups, cgErr := procfs.ReadCgroups(filepath.Join(root, "proc/self/cgroup"))

	var best Limit
	consider := func(l Limit, ok bool) {
		if ok && (best.Bytes == 0 || l.Bytes < best.Bytes) {
			best = l
		}
	}
	if mountErr == nil && cgErr == nil {
		l, ok := cgroupV2Limit(root, mounts, cgroups)
		consider(l, ok)
		l, ok = cgroupV1Limit(root, mounts, cgroups)
		consider(l, ok)
	}

	mi, memErr := readMeminfo(filepath.Join(root, "proc/meminfo"))
	if best.Bytes != 0 && (memErr != nil || best.Bytes < mi.total) {
		return best, nil
	}
	if memErr != nil {
		if mountErr != nil {
			return Limit{}, fmt.Errorf("oomguard: no memory limit found: %v; %v", mountErr, memErr)
		}
		if cgErr != nil {
			return Limit{}, fmt.Errorf("oomguard: no memory limit found: %v; %v", cgErr, memErr)
		}
		return Limit{}, fmt.Errorf("oomguard: no cgroup memory limit and %w", memErr)
	}

	statm := filepath.Join(root, "proc/self/statm")
	rss, err := readStatmRSS(statm)
	if err != nil {
		return Limit{}, fmt.Errorf("oomguard: no cgroup memory limit and %w", err)
	}
	l := Limit{Bytes: mi.total, Source: "host MemTotal", UsagePath: statm}
	if mi.hasAvailable {
		l.Source = "host MemAvailable"
		if rss+mi.available < mi.total {
			l.Bytes = rss + mi.available
		}
	}
	return l, nil
}

// cgroupV2Limit walks from the process's cgroup v2 directory up to the mount
// point and returns the smallest memory.max, with the memory.current of the
// same cgroup as the usage.
func cgroupV2Limit(root string, mounts []procfs.Mount, cgroups []procfs.Cgroup) (Limit, bool) {
	var path string
	found := false
	for _, c := range cgroups {
		if c.ID == "0" && len(c.Controllers) == 0 {
			path, found = c.Path, true
			break
		}
	}
	if !found {
		return Limit{}, false
	}
	var best Limit
	for _, m := range mounts {
		if m.FSType != "cgroup2" {
			continue
		}
		top := filepath.Join(root, m.Point)
		dir, ok := procfs.ResolveCgroupDir(top, m.Root, path)
		if !ok {
			continue
		}
		for {
			file := filepath.Join(dir, "memory.max")
			v, err := readLimitFile(file)
			if err == nil && !noLimit(v) && (best.Bytes == 0 || v < best.Bytes) {
				best = Limit{
					Bytes:     v,
					Source:    "cgroup v2 " + file,
					UsagePath: filepath.Join(dir, "memory.current"),
				}
			}
			if len(dir) <= len(top) {
				break
			}
			dir = filepath.Dir(dir)
		}
		break
	}
	return best, best.Bytes != 0
}

// cgroupV1Limit reads memory.limit_in_bytes of the process's v1 memory cgroup
// and hierarchical_memory_limit from its memory.stat. When an ancestor's
// limit is the smaller one, the usage is read from the visible ancestor that
// holds it (or from the mount point, when that ancestor is not mounted).
func cgroupV1Limit(root string, mounts []procfs.Mount, cgroups []procfs.Cgroup) (Limit, bool) {
	var path string
	found := false
	for _, c := range cgroups {
		if procfs.Has(c.Controllers, "memory") {
			path, found = c.Path, true
			break
		}
	}
	if !found {
		return Limit{}, false
	}
	for _, m := range mounts {
		if m.FSType != "cgroup" || !procfs.Has(strings.Split(m.SuperOpts, ","), "memory") {
			continue
		}
		top := filepath.Join(root, m.Point)
		dir, ok := procfs.ResolveCgroupDir(top, m.Root, path)
		if !ok {
			continue
		}
		var best Limit
		file := filepath.Join(dir, "memory.limit_in_bytes")
		if v, err := readLimitFile(file); err == nil && !noLimit(v) {
			best = Limit{
				Bytes:     v,
				Source:    "cgroup v1 " + file,
				UsagePath: filepath.Join(dir, "memory.usage_in_bytes"),
			}
		}
		stat := filepath.Join(dir, "memory.stat")
		if h, err := readStatField(stat, "hierarchical_memory_limit"); err == nil && !noLimit(h) &&
			(best.Bytes == 0 || h < best.Bytes) {
			best = Limit{
				Bytes:     h,
				Source:    "cgroup v1 hierarchical_memory_limit in " + stat,
				UsagePath: filepath.Join(top, "memory.usage_in_bytes"),
			}
			for d := filepath.Dir(dir); len(d) >= len(top); d = filepath.Dir(d) {
				if v, err := readLimitFile(filepath.Join(d, "memory.limit_in_bytes")); err == nil && v == h {
					best.UsagePath = filepath.Join(d, "memory.usage_in_bytes")
					break
				}
				if d == top {
					break
				}
			}
		}
		return best, best.Bytes != 0
	}
	return Limit{}, false
}

// readLimitFile reads a cgroup limit file: a decimal number, or "max".
func readLimitFile(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 1 << 63, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("oomguard: %s: %w", path, err)
	}
	return v, nil
}

// readStatField returns the value of "key value" in a memory.stat file.
func readStatField(path, key string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("oomguard: %s: %s: %w", path, key, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("oomguard: %s: %w", path, err)
	}
	return 0, fmt.Errorf("oomguard: %s: no %s", path, key)
}

type meminfo struct {
	total, available uint64
	hasAvailable     bool
}

// readMeminfo reads MemTotal and MemAvailable (Linux 3.14 and later) from
// /proc/meminfo, in bytes.
func readMeminfo(path string) (meminfo, error) {
	var mi meminfo
	data, err := os.ReadFile(path)
	if err != nil {
		return mi, err
	}
	hasTotal := false
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "MemTotal" && k != "MemAvailable") {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return mi, fmt.Errorf("oomguard: %s: %s: %w", path, k, err)
		}
		if k == "MemTotal" {
			mi.total, hasTotal = n*1024, true
		} else {
			mi.available, mi.hasAvailable = n*1024, true
		}
	}
	if !hasTotal {
		return mi, errors.New("oomguard: " + path + ": no MemTotal")
	}
	return mi, nil
}

// readStatmRSS returns the resident size in bytes from a /proc/<pid>/statm file.
func readStatmRSS(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseUsage(bytes.TrimSpace(data), true, uint64(os.Getpagesize()), path)
}
