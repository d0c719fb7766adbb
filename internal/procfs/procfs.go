// Package procfs parses the /proc files that say where a process's cgroups
// are. It is compiled into the profiled program (through oomguard), so it
// imports only the standard library and keeps to the Go 1.19 language.
package procfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ResolveCgroupDir maps a cgroup path from /proc/self/cgroup, which is
// relative to the root of the hierarchy, to a directory: the mount's root
// field says which directory of the hierarchy is mounted at top. When the path
// lies outside the mounted part (a cgroup namespace or a container that
// mounts only its own cgroup), only top is visible, and that is the best
// there is.
func ResolveCgroupDir(top, mountRoot, cgPath string) (string, bool) {
	if strings.HasPrefix(cgPath, "/..") || strings.HasPrefix(mountRoot, "/..") {
		return top, true
	}
	cgPath = filepath.Clean("/" + cgPath)
	mountRoot = filepath.Clean("/" + mountRoot)
	if mountRoot == "/" {
		return filepath.Join(top, cgPath), true
	}
	if cgPath == mountRoot {
		return top, true
	}
	if strings.HasPrefix(cgPath, mountRoot+"/") {
		return filepath.Join(top, cgPath[len(mountRoot):]), true
	}
	return "", false
}

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Root, Point, FSType, SuperOpts string
}

// ReadMountinfo parses /proc/self/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The fields before "-" are id, parent id, major:minor, root, mount point,
// mount options and optional fields; after it come the filesystem type, the
// source and the super block options.
func ReadMountinfo(path string) ([]Mount, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ms []Mount
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
		m := Mount{Root: unescapeMount(f[3]), Point: unescapeMount(f[4]), FSType: f[sep+1]}
		if sep+3 < len(f) {
			m.SuperOpts = f[sep+3]
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// unescapeMount undoes the octal escapes (\040 for a space, \011, \012, \134)
// the kernel writes in mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
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

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Cgroup is one line of /proc/self/cgroup: "hierarchy-ID:controllers:path".
// In cgroup v2 the line is "0::/path".
type Cgroup struct {
	ID          string
	Controllers []string
	Path        string
}

// ReadCgroups parses /proc/self/cgroup (or another process's).
func ReadCgroups(path string) ([]Cgroup, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cs []Cgroup
	for _, line := range strings.Split(string(data), "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrl, p, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		c := Cgroup{ID: id, Path: p}
		if ctrl != "" {
			c.Controllers = strings.Split(ctrl, ",")
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// Has reports whether list holds s.
func Has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// HighWater returns the resident high-water mark (VmHWM) of a process from
// its status file (/proc/PID/status), in bytes. Unlike wait4's maxrss it is
// the process's own since its last exec: a process started by fork and exec
// from a large parent does not inherit the parent's.
func HighWater(statusPath string) (uint64, error) {
	data, err := os.ReadFile(statusPath)
	if err != nil {
		return 0, err
	}
	hwm, ok := StatusHighWater(data)
	if !ok {
		return 0, errors.New("procfs: no VmHWM line in kB in " + statusPath)
	}
	return hwm, nil
}

// StatusHighWater finds the VmHWM line in the contents of /proc/PID/status
// without allocating and returns it in bytes; ok is false when there is no
// such line in kB.
func StatusHighWater(b []byte) (hwm uint64, ok bool) {
	const key = "VmHWM:"
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if !bytes.HasPrefix(line, []byte(key)) {
			continue
		}
		line = bytes.TrimLeft(line[len(key):], " \t")
		var kb uint64
		i := 0
		for ; i < len(line) && line[i] >= '0' && line[i] <= '9'; i++ {
			if kb > 1<<50 {
				return 0, false
			}
			kb = kb*10 + uint64(line[i]-'0')
		}
		if i == 0 || string(bytes.TrimSpace(line[i:])) != "kB" {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// Statm parses the contents of /proc/PID/statm without allocating: the
// resident pages and the shared (file-backed) ones, the second and third
// of its fields ("size resident shared text lib data dt", in pages). ok is
// false when the contents are not that.
func Statm(b []byte) (resident, shared uint64, ok bool) {
	var fields [3]uint64
	i := 0
	for f := range fields {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			d := uint64(b[i] - '0')
			if fields[f] > (1<<64-1-d)/10 {
				return 0, 0, false
			}
			fields[f] = fields[f]*10 + d
		}
		if i == start || (i < len(b) && b[i] != ' ' && b[i] != '\n') {
			return 0, 0, false
		}
	}
	return fields[1], fields[2], true
}

// nextLine splits b after its first line: the line, without its newline,
// and the rest.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}
