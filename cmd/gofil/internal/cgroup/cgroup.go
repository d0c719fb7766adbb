//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/privtmp"
	"github.com/gofil/gofil/internal/procfs"
)

// Group is a memory cgroup created by New.
//
//	g, err := cgroup.New("run1", 64<<20)
//	if err != nil {
//		return err
//	}
//	defer g.Remove()
type Group struct {
	path    string
	version int

	mu      sync.Mutex
	removed bool
}

// Path returns the cgroup's directory.
//
//	fmt.Println("memory cgroup:", g.Path())
func (g *Group) Path() string { return g.path }

// Version returns the cgroup version, 1 or 2.
//
//	if g.Version() == 1 {
//		// usage is memory.usage_in_bytes
//	}
func (g *Group) Version() int { return g.version }

// target is where New would create a group.
type target struct {
	version int
	// parent is the cgroup of this process, where the group goes.
	parent string
	// enable says that "+memory" must be written to the parent's
	// cgroup.subtree_control first (v2 only).
	enable bool
}

const errPrefix = "cannot create a memory cgroup: "

// findTarget chooses the hierarchy, looking at the tree under root ("/" for
// the real system).
func findTarget(root string) (target, error) {
	mounts, err := procfs.ReadMountinfo(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return target{}, errors.New(errPrefix + err.Error())
	}
	cgroups, err := procfs.ReadCgroups(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return target{}, errors.New(errPrefix + err.Error())
	}
	t2, err2 := findV2(root, mounts, cgroups)
	if err2 == nil {
		return t2, nil
	}
	t1, err1 := findV1(root, mounts, cgroups)
	if err1 == nil {
		return t1, nil
	}
	switch {
	case err1 == errNoV1 && err2 == errNoV2:
		return target{}, errors.New(errPrefix + "no cgroup v2 hierarchy with the memory controller and no cgroup v1 memory hierarchy is mounted")
	case err1 == errNoV1:
		return target{}, errors.New(errPrefix + err2.Error())
	case err2 == errNoV2:
		return target{}, errors.New(errPrefix + err1.Error())
	}
	return target{}, fmt.Errorf("%scgroup v2: %v; cgroup v1: %v", errPrefix, err2, err1)
}

var (
	errNoV2 = errors.New("no cgroup v2 hierarchy with the memory controller")
	errNoV1 = errors.New("no cgroup v1 memory hierarchy is mounted")
)

// findV2 looks for a cgroup2 mount, /sys/fs/cgroup first, whose cgroup for
// this process can have a child with the memory controller.
func findV2(root string, mounts []procfs.Mount, cgroups []procfs.Cgroup) (target, error) {
	var self string
	found := false
	for _, c := range cgroups {
		if c.ID == "0" && len(c.Controllers) == 0 {
			self, found = c.Path, true
		}
	}
	if !found {
		return target{}, errNoV2
	}
	var candidates []procfs.Mount
	for _, m := range mounts {
		if m.FSType != "cgroup2" {
			continue
		}
		if m.Point == "/sys/fs/cgroup" {
			candidates = append([]procfs.Mount{m}, candidates...)
		} else {
			candidates = append(candidates, m)
		}
	}
	for _, m := range candidates {
		top := filepath.Join(root, m.Point)
		dir, ok := procfs.ResolveCgroupDir(top, m.Root, self)
		if !ok {
			continue
		}
		if words(filepath.Join(dir, "cgroup.subtree_control"))["memory"] {
			if err := checkWritable(dir); err != nil {
				return target{}, err
			}
			return target{version: 2, parent: dir}, nil
		}
		if !words(filepath.Join(dir, "cgroup.controllers"))["memory"] {
			continue // the memory controller is bound elsewhere (v1), or not delegated
		}
		if err := checkWritable(filepath.Join(dir, "cgroup.subtree_control")); err != nil {
			return target{}, err
		}
		isRoot := dir == top && m.Root == "/"
		if !isRoot && len(words(filepath.Join(dir, "cgroup.procs"))) > 0 {
			return target{}, fmt.Errorf("%s has processes (gofil among them) and no memory controller in cgroup.subtree_control, "+
				"which cgroup v2 cannot enable while it has processes; run gofil in a delegated cgroup with memory "+
				"enabled for its children (e.g. systemd-run --user --scope -p Delegate=yes gofil ...)", dir)
		}
		return target{version: 2, parent: dir, enable: true}, nil
	}
	return target{}, errNoV2
}

// findV1 looks for the cgroup v1 memory hierarchy and this process's cgroup
// in it.
func findV1(root string, mounts []procfs.Mount, cgroups []procfs.Cgroup) (target, error) {
	var self string
	found := false
	for _, c := range cgroups {
		if procfs.Has(c.Controllers, "memory") {
			self, found = c.Path, true
		}
	}
	if !found {
		return target{}, errNoV1
	}
	for _, m := range mounts {
		if m.FSType != "cgroup" || !procfs.Has(strings.Split(m.SuperOpts, ","), "memory") {
			continue
		}
		dir, ok := procfs.ResolveCgroupDir(filepath.Join(root, m.Point), m.Root, self)
		if !ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "memory.limit_in_bytes")); err != nil {
			return target{}, fmt.Errorf("%s is not a memory cgroup: %w", dir, err)
		}
		if err := checkWritable(dir); err != nil {
			return target{}, err
		}
		return target{version: 1, parent: dir}, nil
	}
	return target{}, errNoV1
}

// checkWritable says, in words that tell what to do, why path cannot be
// written to.
func checkWritable(path string) error {
	const wOK = 2 // W_OK in access(2)
	err := syscall.Access(path, wOK)
	switch {
	case err == nil:
		return nil
	case err == syscall.EROFS:
		return fmt.Errorf("%s is read-only (run as root or delegate a cgroup)", path)
	case err == syscall.EACCES || err == syscall.EPERM:
		return fmt.Errorf("%s is not writable by this user (run as root or delegate a cgroup)", path)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// words returns the space-separated words of a small file; none if it cannot
// be read.
func words(path string) map[string]bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	w := make(map[string]bool)
	for _, f := range strings.Fields(string(data)) {
		w[f] = true
	}
	return w
}

// New creates the memory cgroup "gofil-<name>" below this process's cgroup,
// limited to limitBytes with no swap. The calling process does not join it:
// add the child with AddPID. A leftover group of the same name with no
// processes in it is replaced. With cgroup v2, New may first enable the
// memory controller in the parent's cgroup.subtree_control; it stays enabled.
//
//	g, err := cgroup.New(strconv.Itoa(os.Getpid()), 300<<20)
//	if err != nil {
//		return err
//	}
//	defer g.Remove()
func New(name string, limitBytes uint64) (*Group, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00\n") {
		return nil, fmt.Errorf("cgroup: invalid name %q", name)
	}
	if limitBytes == 0 {
		return nil, errors.New("cgroup: the memory limit is 0 bytes")
	}
	t, err := findTarget("/")
	if err != nil {
		return nil, err
	}
	return create(t, "gofil-"+name, limitBytes)
}

func create(t target, base string, limitBytes uint64) (*Group, error) {
	if t.enable {
		ctl := filepath.Join(t.parent, "cgroup.subtree_control")
		if err := writeFile(ctl, "+memory"); err != nil {
			return nil, fmt.Errorf("%senabling the memory controller in %s: %w", errPrefix, ctl, err)
		}
	}
	sweep(t.parent)
	dir := filepath.Join(t.parent, base)
	if err := os.Mkdir(dir, 0o755); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s%w", errPrefix, err)
		}
		// A leftover from a run that could not clean up: rmdir succeeds
		// only if no process and no child cgroup uses it.
		if rerr := syscall.Rmdir(dir); rerr != nil {
			return nil, fmt.Errorf("%s%s already exists and is in use", errPrefix, dir)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%s%w", errPrefix, err)
		}
	}
	g := &Group{path: dir, version: t.version}
	if err := g.setLimit(limitBytes); err != nil {
		if rerr := syscall.Rmdir(dir); rerr != nil {
			return nil, fmt.Errorf("%s%v (and removing %s: %v)", errPrefix, err, dir, rerr)
		}
		return nil, fmt.Errorf("%s%w", errPrefix, err)
	}
	return g, nil
}

func (g *Group) setLimit(limit uint64) error {
	v := strconv.FormatUint(limit, 10)
	if g.version == 2 {
		if err := writeFile(filepath.Join(g.path, "memory.max"), v); err != nil {
			return err
		}
		// No swap: the limit is on memory, and a swapping child is slow to
		// die. A kernel without swap accounting has no memory.swap.max.
		if swap := filepath.Join(g.path, "memory.swap.max"); exists(swap) {
			if err := writeFile(swap, "0"); err != nil {
				return err
			}
		}
		return nil
	}
	// A v1 cgroup inherits oom_kill_disable from its parent; with it set,
	// the child would hang at the limit instead of being killed.
	oom := filepath.Join(g.path, "memory.oom_control")
	if n, err := readKey(oom, "oom_kill_disable"); err == nil && n != 0 {
		if err := writeFile(oom, "0"); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(g.path, "memory.limit_in_bytes"), v); err != nil {
		return err
	}
	// memory+swap no larger than memory means no swap. The file exists only
	// with swap accounting, and may refuse writes; the limit holds anyway.
	if memsw := filepath.Join(g.path, "memory.memsw.limit_in_bytes"); exists(memsw) {
		if err := writeFile(memsw, v); err != nil && !errors.Is(err, syscall.EINVAL) &&
			!errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) {
			return err
		}
	}
	return nil
}

// AddPID moves a process (all its threads) into the group. Add a child
// right after starting it, before it allocates much: memory it already
// holds stays charged where it was.
//
//	if err := cmd.Start(); err != nil {
//		return err
//	}
//	if err := g.AddPID(cmd.Process.Pid); err != nil {
//		cmd.Process.Kill()
//		return err
//	}
func (g *Group) AddPID(pid int) error {
	if err := writeFile(filepath.Join(g.path, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("cgroup: adding process %d: %w", pid, err)
	}
	return nil
}

// OOMKills returns how many processes the kernel's out-of-memory killer has
// killed in the group: "oom_kill" in memory.events (v2) or memory.oom_control
// (v1, Linux 4.13 and later).
//
//	if n, err := g.OOMKills(); err == nil && n > 0 {
//		fmt.Println("killed by the out-of-memory killer")
//	}
func (g *Group) OOMKills() (uint64, error) {
	file := "memory.oom_control"
	if g.version == 2 {
		file = "memory.events"
	}
	n, err := readKey(filepath.Join(g.path, file), "oom_kill")
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	return n, nil
}

// Remove deletes the group. Processes still in it are moved to the parent
// cgroup first, where the kernel allows it. Removal is retried for a short
// while, since a process that has just died can keep the group busy. Once it
// has succeeded, further calls return nil.
//
//	defer func() {
//		if err := g.Remove(); err != nil {
//			log.Print(err)
//		}
//	}()
func (g *Group) Remove() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.removed {
		return nil
	}
	parentProcs := filepath.Join(filepath.Dir(g.path), "cgroup.procs")
	deadline := time.Now().Add(2 * time.Second)
	for {
		var moveErr error
		for pid := range words(filepath.Join(g.path, "cgroup.procs")) {
			if err := writeFile(parentProcs, pid); err != nil && !errors.Is(err, syscall.ESRCH) && moveErr == nil {
				moveErr = fmt.Errorf("moving process %s out: %w", pid, err)
			}
		}
		err := syscall.Rmdir(g.path)
		if err == nil || err == syscall.ENOENT {
			g.removed = true
			return nil
		}
		if err != syscall.EBUSY || time.Now().After(deadline) {
			if moveErr != nil {
				return fmt.Errorf("cgroup: removing %s: %w (%v)", g.path, err, moveErr)
			}
			return fmt.Errorf("cgroup: removing %s: %w", g.path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Available reports whether New would work, and if not, why. It leaves
// nothing behind: it creates a probe group and removes it, or, when cgroup v2
// would need the memory controller enabled first, checks that it could be.
//
//	if err := cgroup.Available(); err != nil {
//		return fmt.Errorf("--memory-limit: %w", err)
//	}
func Available() error {
	t, err := findTarget("/")
	if err != nil {
		return err
	}
	if t.enable {
		return nil // findV2 checked what it can without changing anything
	}
	base := fmt.Sprintf("gofil-probe-%d-%d", os.Getpid(), time.Now().UnixNano())
	g, err := create(t, base, 1<<62)
	if err != nil {
		return err
	}
	if _, err := g.OOMKills(); err != nil {
		if rerr := g.Remove(); rerr != nil {
			return fmt.Errorf("%v (and %v)", err, rerr)
		}
		return err
	}
	return g.Remove()
}

// writeFile writes s to an existing cgroup file in one write(2), as the
// kernel expects.
func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte(s))
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// readKey returns the value of "key value" in a flat-keyed cgroup file.
func readKey(path, key string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %s: %w", path, key, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s has no %s line", path, key)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// StartInside runs start, which should start a child process, with this
// process moved into the group for the moment, so that the child is in the
// group from its first instruction; then it moves this process back. Memory
// this process touches meanwhile stays charged to the group: keep start
// short.
//
//	err := g.StartInside(cmd.Start)
func (g *Group) StartInside(start func() error) error {
	self := strconv.Itoa(os.Getpid())
	home := filepath.Dir(g.path)
	if err := writeFile(filepath.Join(g.path, "cgroup.procs"), self); err != nil {
		return fmt.Errorf("cgroup: entering %s: %w", g.path, err)
	}
	startErr := start()
	if err := writeFile(filepath.Join(home, "cgroup.procs"), self); err != nil {
		return errors.Join(startErr, fmt.Errorf("cgroup: returning to %s: %w", home, err))
	}
	return startErr
}

// OOMKillsIn returns the out-of-memory kill count of the memory cgroup in
// dir, v1 or v2.
//
//	before, _ := cgroup.OOMKillsIn(dir)
func OOMKillsIn(dir string) (uint64, error) {
	for _, file := range []string{"memory.events", "memory.oom_control"} {
		p := filepath.Join(dir, file)
		if !exists(p) {
			continue
		}
		n, err := readKey(p, "oom_kill")
		if err != nil {
			return 0, fmt.Errorf("cgroup: %w", err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("cgroup: %s has no out-of-memory kill count", dir)
}

// sweep removes the cgroups that runs of gofil killed before they could
// remove their own left in parent: gofil-PID, for a process that no longer
// exists. rmdir removes only a cgroup no process uses.
func sweep(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "gofil-"))
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "gofil-") || err != nil || pid <= 0 {
			continue
		}
		if !privtmp.Alive(pid) {
			syscall.Rmdir(filepath.Join(parent, e.Name()))
		}
	}
}
