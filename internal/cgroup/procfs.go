//go:build linux

package cgroup

import (
	"os"
	"path/filepath"
	"strings"
)

// The parsers below duplicate a few lines of oomguard's on purpose: oomguard
// runs in the profiled program and must stay self-contained.

// mount is one line of /proc/self/mountinfo.
type mount struct {
	root, point, fstype, superOpts string
}

// readMountinfo parses /proc/self/mountinfo (proc(5)): id, parent id,
// major:minor, root, mount point, options, optional fields, "-", filesystem
// type, source, super block options.
func readMountinfo(path string) ([]mount, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ms []mount
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		m := mount{root: unescapeMount(f[3]), point: unescapeMount(f[4]), fstype: f[sep+1]}
		if sep+3 < len(f) {
			m.superOpts = f[sep+3]
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	isOctal := func(c byte) bool { return c >= '0' && c <= '7' }
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// procCgroup is one line of /proc/self/cgroup, "hierarchy-ID:controllers:path";
// cgroup v2's is "0::/path".
type procCgroup struct {
	id          string
	controllers []string
	path        string
}

func readProcCgroup(path string) ([]procCgroup, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cs []procCgroup
	for _, line := range strings.Split(string(data), "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrl, p, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		c := procCgroup{id: id, path: p}
		if ctrl != "" {
			c.controllers = strings.Split(ctrl, ",")
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// resolveCgroupDir maps a path from /proc/self/cgroup, relative to the root
// of the hierarchy, to a directory under the mount point top, whose mount
// root field says which directory of the hierarchy is mounted there.
func resolveCgroupDir(top, mountRoot, cgPath string) (string, bool) {
	if strings.HasPrefix(cgPath, "/..") || strings.HasPrefix(mountRoot, "/..") {
		// Outside our cgroup namespace: only the mount point is in reach.
		return top, true
	}
	cgPath = filepath.Clean("/" + cgPath)
	mountRoot = filepath.Clean("/" + mountRoot)
	switch {
	case mountRoot == "/":
		return filepath.Join(top, cgPath), true
	case cgPath == mountRoot:
		return top, true
	case strings.HasPrefix(cgPath, mountRoot+"/"):
		return filepath.Join(top, cgPath[len(mountRoot):]), true
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
