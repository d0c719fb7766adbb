package privtmp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCheckRefusesAMovableDirectory: a private directory in a directory
// others can write, not sticky, is refused: another user could rename it
// away and put theirs in its place. In a sticky one (as /tmp) it is taken.
func TestCheckRefusesAMovableDirectory(t *testing.T) {
	for _, c := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o777, false}, {os.ModeSticky | 0o777, true}, {0o755, true}} {
		parent := filepath.Join(t.TempDir(), "parent")
		if err := os.Mkdir(parent, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(parent, c.mode); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(parent, "gofil")
		err := MakePrivate(dir)
		if (err == nil) != c.ok {
			t.Errorf("in a %v directory: %v, want ok=%v", c.mode, err, c.ok)
		}
	}
}

// TestCheckRefusesParentsOthersCanChange: a private directory is refused
// when a directory on the way to it is writable by the user's own group and
// not sticky, or owned by another user (even a sticky one, as a TMPDIR of
// theirs): its owner or the group could move the directory away and put
// theirs in its place. A symbolic link on the way is followed: the
// directories above its target, and the one that holds it, count too.
func TestCheckRefusesParentsOthersCanChange(t *testing.T) {
	root := os.Getuid() == 0
	for _, c := range []struct {
		name  string
		mode  os.FileMode
		owner int // -1: the user
		ok    bool
	}{
		{"writable by the user's group", os.ModeSetgid | 0o775, -1, false},
		{"the user's, sticky", os.ModeSticky | 0o777, -1, true},
		{"the user's", 0o755, -1, true},
		{"another user's, sticky", os.ModeSticky | 0o777, 65534, false},
		{"another user's", 0o755, 65534, false},
	} {
		if c.owner >= 0 && !root {
			continue
		}
		parent := filepath.Join(t.TempDir(), "parent")
		if err := os.Mkdir(parent, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(parent, -1, os.Getgid()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(parent, c.mode); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(parent, "gofil")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if c.owner >= 0 {
			if err := os.Chown(parent, c.owner, -1); err != nil {
				t.Fatal(err)
			}
		}
		err := Check(dir)
		if (err == nil) != c.ok {
			t.Errorf("in a directory %s: %v, want ok=%v", c.name, err, c.ok)
		}

		// The same directory through a link that stands in a private
		// directory, and the private directory through a link that
		// stands in this one.
		private := t.TempDir()
		link := filepath.Join(private, "link")
		if err := os.Symlink(parent, link); err != nil {
			t.Fatal(err)
		}
		if err := Check(filepath.Join(link, "gofil")); (err == nil) != c.ok {
			t.Errorf("through a link to a directory %s: %v, want ok=%v", c.name, err, c.ok)
		}
		if err := os.Mkdir(filepath.Join(private, "gofil"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(private, filepath.Join(parent, "link")); err != nil {
			t.Fatal(err)
		}
		if err := Check(filepath.Join(parent, "link", "gofil")); (err == nil) != c.ok {
			t.Errorf("through a link in a directory %s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// TestCacheDirFallsBackFromAnUnusableHome: with a home where no private
// cache can be made (not a directory, in a directory others can write, or
// read-only), the cache is the user's own directory in TMPDIR, as without
// a home.
func TestCacheDirFallsBackFromAnUnusableHome(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_CACHE_HOME", "")
	want := filepath.Join(tmp, fmt.Sprintf("gofil-%d", os.Getuid()))

	file := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	homes := map[string]string{"not a directory": file, "in a directory anyone can write": filepath.Join(open, "home")}
	if os.Getuid() != 0 { // root writes a read-only directory all the same
		readOnly := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(readOnly, 0o500); err != nil {
			t.Fatal(err)
		}
		homes["read-only"] = readOnly
	}
	for name, home := range homes {
		os.MkdirAll(home, 0o700)
		t.Setenv("HOME", home)
		dir, err := CacheDir()
		if err != nil || dir != want {
			t.Errorf("with a home %s: %q, %v; want %s", name, dir, err, want)
		}
	}
}

// holdEnv, set to a prefix's path in a parent directory, makes the test binary a
// process that makes a directory with MakeTemp, prints its path and holds
// it until its input ends or it is killed.
const holdEnv = "GOFIL_PRIVTMP_TEST_HOLD"

func TestMain(m *testing.M) {
	if v := os.Getenv(holdEnv); v != "" {
		parent, prefix := filepath.Split(v)
		tmp, err := MakeTemp(parent, prefix)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(tmp.Dir)
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder is a process, this test binary again, that holds a directory it
// made in parent with MakeTemp.
type holder struct {
	cmd *exec.Cmd
	dir string
}

func startHolder(t *testing.T, parent, prefix string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+filepath.Join(parent, prefix))
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil { // held open: the child waits
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the holder printed no directory: %v", err)
	}
	return &holder{cmd: cmd, dir: strings.TrimSuffix(line, "\n")}
}

// kill ends the holder with SIGKILL, which leaves it no way to clean up.
func (h *holder) kill(t *testing.T) {
	t.Helper()
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// renamePID renames the holder's directory to name process pid as its
// maker, as a gofil in another PID namespace sees it: a live holder's
// process id may be no process, or another one, there.
func (h *holder) renamePID(t *testing.T, prefix string, pid int) {
	t.Helper()
	parent, name := filepath.Split(h.dir)
	rest := strings.TrimPrefix(name, prefix)
	_, suffix, _ := strings.Cut(rest, "-")
	to := filepath.Join(parent, fmt.Sprintf("%s%d-%s", prefix, pid, suffix))
	if err := os.Rename(h.dir, to); err != nil {
		t.Fatal(err)
	}
	h.dir = to
}

// deadPID returns a process id no process can have: one above the
// kernel's pid_max.
func deadPID(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skipf("no pid_max to choose a dead process id by: %v", err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if Alive(max + 1) {
		t.Fatalf("process %d, above pid_max, exists", max+1)
	}
	return max + 1
}

// TestSweepLeavesHeldDirectories: a directory another live process holds
// is never swept, even when the process id in its name is dead (as a gofil
// in another PID namespace sees it); one whose holder died is swept, even
// when the id in its name is a live process's (reused, or another
// namespace's).
func TestSweepLeavesHeldDirectories(t *testing.T) {
	const prefix = "build-"
	parent := t.TempDir()
	dead := deadPID(t)
	live := startHolder(t, parent, prefix)
	gone := startHolder(t, parent, prefix)
	live.renamePID(t, prefix, dead)
	gone.kill(t)
	gone.renamePID(t, prefix, os.Getpid())
	if err := os.WriteFile(filepath.Join(live.dir, "a.out"), []byte("building"), 0o600); err != nil {
		t.Fatal(err)
	}

	Sweep(parent, prefix)
	if _, err := os.Stat(filepath.Join(live.dir, "a.out")); err != nil {
		t.Errorf("the directory of a live process, named by a dead process id, was swept: %v", err)
	}
	if _, err := os.Lstat(gone.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the directory of a killed process, named by a live process id, is still there: %v", err)
	}
	live.kill(t)
	Sweep(parent, prefix)
	if _, err := os.Lstat(live.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the directory of a process since killed is still there: %v", err)
	}
}

// TestMakeTempRacesSweeps: a directory MakeTemp returns is held, though
// sweeps that take every directory without a lock for a dead process's run
// all the while: one swept between its making and its lock is made again.
func TestMakeTempRacesSweeps(t *testing.T) {
	const prefix = "run-"
	parent := t.TempDir()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			entries, _ := os.ReadDir(parent)
			for _, e := range entries {
				removeUnheld(filepath.Join(parent, e.Name()), true)
			}
		}
	}()
	var temps []*Temp
	for i := 0; i < 300; i++ {
		tmp, err := MakeTemp(parent, prefix)
		if err != nil {
			t.Fatal(err)
		}
		temps = append(temps, tmp)
	}
	close(stop)
	<-done
	for _, tmp := range temps {
		if st, err := os.Stat(tmp.Dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s, made and held: %v, %v", tmp.Dir, st, err)
		}
		if err := tmp.Remove(); err != nil {
			t.Error(err)
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left after Remove: %v", entries)
	}
}

// TestOwnWaits: Own waits while another holds the directory, shared or
// alone, and RemoveUnheld leaves a directory held by Own alone. Two
// opens of the lock file are two holders, in one process as in two.
func TestOwnWaits(t *testing.T) {
	dir := t.TempDir()
	for _, first := range []func(string) (*Lock, error){Share, Own} {
		held, err := first(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan *Lock)
		go func() {
			l, err := Own(dir)
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
		select {
		case l := <-got:
			l.Unlock()
			t.Fatal("Own took a directory another held")
		case <-time.After(200 * time.Millisecond):
		}
		held.Unlock()
		var owned *Lock
		select {
		case owned = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("Own still waits once the directory was let go")
		}
		if RemoveUnheld(dir) {
			t.Fatal("RemoveUnheld removed a directory Own holds")
		}
		owned.Unlock()
	}
	if !RemoveUnheld(dir) {
		t.Error("RemoveUnheld left a directory no one holds")
	}
}
