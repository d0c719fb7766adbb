package build

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/privtmp"
)

// holdEnv makes the test binary a gofil of its own that uses the agent
// cache and stays: "agent <cache>" takes the agent as a build does
// (writeAgent) and holds it; "write <cache>" is caught writing a fresh copy,
// all its files written and not yet put in place. Either prints the
// directory it holds and waits until its input ends or it is killed.
const holdEnv = "GOFIL_BUILD_TEST_HOLD"

// heldLock and heldTemp keep the holder's lock reachable while it holds.
var (
	heldLock *privtmp.Lock
	heldTemp *privtmp.Temp
)

func hold() {
	mode, cache, _ := strings.Cut(os.Getenv(holdEnv), " ")
	var dir string
	switch mode {
	case "agent":
		d, lock, err := writeAgent(cache, gofil.AgentSource)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// Held in a global: a lock that becomes garbage is closed by its
		// file's finalizer at the next GC, and the hold with it.
		heldLock = lock
		dir = d
	case "write":
		_, files, contents, err := agentFiles(gofil.AgentSource)
		if err == nil {
			var tmp *privtmp.Temp
			if tmp, err = privtmp.MakeTemp(cache, agentTempPrefix); err == nil {
				heldTemp = tmp
				dir = tmp.Dir
				err = writeFiles(dir, files, contents)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Println(dir)
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// holder is another process, this test binary again, that holds a
// directory in an agent cache.
type holder struct {
	cmd *exec.Cmd
	dir string
}

func startHolder(t *testing.T, mode, cache string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+mode+" "+cache)
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
		t.Fatalf("the holder (%s) printed no directory: %v", mode, err)
	}
	return &holder{cmd: cmd, dir: strings.TrimSuffix(line, "\n")}
}

// kill ends the holder with SIGKILL, which leaves it no way to clean up.
func (h *holder) kill() {
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// agentTemps returns the names of the temporary agent directories in cache.
func agentTemps(t *testing.T, cache string) []string {
	t.Helper()
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), agentTempPrefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestDamagedAgentReplacedNotRemoved: a gofil that finds the agent's
// directory damaged puts a whole fresh copy at its name, and leaves the
// damaged one, which another gofil still holds for its build, whole under
// another name; once that gofil has gone, the next run removes it.
func TestDamagedAgentReplacedNotRemoved(t *testing.T) {
	cache := t.TempDir()
	reader := startHolder(t, "agent", cache)
	dir := reader.dir
	before, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join("tracker", "planted.go")
	if err := os.WriteFile(filepath.Join(dir, planted), []byte("package tracker\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, files, contents, err := agentFiles(gofil.AgentSource)
	if err != nil {
		t.Fatal(err)
	}

	got, lock, err := writeAgent(cache, gofil.AgentSource)
	if err != nil {
		t.Fatal(err)
	}
	lock.Unlock()
	if got != dir || !sameFiles(dir, files, contents) {
		t.Fatalf("writeAgent gave %s, holding the agent: %v; want %s, holding it", got, sameFiles(got, files, contents), dir)
	}
	temps := agentTemps(t, cache)
	var aside string
	for _, name := range temps {
		if st, err := os.Stat(filepath.Join(cache, name)); err == nil && os.SameFile(st, before) {
			aside = filepath.Join(cache, name)
		}
	}
	if aside == "" {
		t.Fatalf("the damaged directory another gofil holds is gone (in the cache: %v)", temps)
	}
	for _, p := range append([]string{planted}, files...) {
		if _, err := os.Stat(filepath.Join(aside, filepath.FromSlash(p))); err != nil {
			t.Errorf("the damaged directory another gofil holds lost %s: %v", p, err)
		}
	}

	reader.kill()
	if _, lock, err = writeAgent(cache, gofil.AgentSource); err != nil {
		t.Fatal(err)
	}
	lock.Unlock()
	if temps := agentTemps(t, cache); len(temps) != 0 {
		t.Errorf("left in the cache once no one holds them: %v", temps)
	}
}

// TestAgentLeftoversOnAFullDisk: on a full disk (a small tmpfs, filled),
// writing the agent fails and leaves nothing of its own; a copy left half
// done by a gofil that was killed is removed by the next run, which then
// has the room to write the agent, while a copy another live gofil is
// writing is left alone.
func TestAgentLeftoversOnAFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounts a small tmpfs to fill: needs root")
	}
	cache := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", cache).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", cache).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", cache, err, out)
		}
	})
	fill := func() {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(cache, "fill"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		page := make([]byte, 4096)
		for {
			if _, err := f.Write(page); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				return
			}
		}
	}

	live := startHolder(t, "write", cache)
	dead := startHolder(t, "write", cache)
	dead.kill()
	fill()
	// The live copy is held; the killed one is removed, and its room is
	// the agent's.
	dir, lock, err := writeAgent(cache, gofil.AgentSource)
	if err != nil {
		t.Fatalf("with a killed gofil's copy to remove on a full disk: %v", err)
	}
	lock.Unlock()
	if _, err := os.Stat(dead.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the copy a killed gofil left is still there: %v", err)
	}
	if temps := agentTemps(t, cache); len(temps) != 1 || temps[0] != filepath.Base(live.dir) {
		t.Errorf("temporary copies in the cache: %v, want only the live gofil's, %s", temps, filepath.Base(live.dir))
	}

	// Damaged, with no room for a fresh copy: an error, and nothing of
	// the attempt left.
	fill()
	if err := os.Remove(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := writeAgent(cache, gofil.AgentSource); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("writing the agent on a full disk: %v, want no space left", err)
	}
	if temps := agentTemps(t, cache); len(temps) != 1 || temps[0] != filepath.Base(live.dir) {
		t.Errorf("after a failed write, temporary copies in the cache: %v, want only the live gofil's, %s", temps, filepath.Base(live.dir))
	}
	live.kill()
}

// TestAgentModulePath: the agent as gofil writes it names its packages by
// gofil.AgentModule only, the module path it knows itself by
// (raw.AgentModule) included, so that it never resolves to gofil's own
// module that a program may use; each file keeps its lines, and is
// otherwise the source gofil embeds.
func TestAgentModulePath(t *testing.T) {
	dir, lock, err := writeAgent(t.TempDir(), gofil.AgentSource)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	n := 0
	err = fs.WalkDir(gofil.AgentSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := gofil.AgentSource.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		n++
		if bytes.Count(got, []byte("\n")) != bytes.Count(src, []byte("\n")) {
			t.Errorf("%s: %d lines, want the source's %d", p, bytes.Count(got, []byte("\n")), bytes.Count(src, []byte("\n")))
		}
		back := strings.ReplaceAll(string(got), strconv.Quote(gofil.AgentModule), strconv.Quote(gofil.SourceModule))
		back = strings.ReplaceAll(back, `"`+gofil.AgentModule+`/`, `"`+gofil.SourceModule+`/`)
		if back != string(src) {
			t.Errorf("%s differs from its source beyond the module path", p)
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, got, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.Contains(lit.Value, gofil.SourceModule) {
				t.Errorf("%s: %s still names gofil's module", p, lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the agent has no Go files")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "internal", "raw", "raw.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "const AgentModule = " + strconv.Quote(gofil.AgentModule) + "\n"; !strings.Contains(string(raw), want) {
		t.Errorf("the agent's internal/raw does not say %q", want)
	}
}
