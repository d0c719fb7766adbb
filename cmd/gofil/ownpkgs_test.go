package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/cmd/gofil/internal/cgroup"
)

// The programs here use gofil's own packages, or are in gofil's module:
// under `gofil run` each keeps the packages it was written against, beside
// the tracker's.

// guardService is a service that keeps emergency heap profiles with
// oomguard, as README.md shows, in the directory its argument names. It
// grows 1 MiB at a time in main.grow until its guard has written a dump
// at the first level (90% of the limit), then at the second (halfway from
// there to the limit), and stops growing at 91% and 96% of the limit while
// it waits for each. It prints how many dumps it found, and on stderr how
// much it held.
const guardService = `package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/gofil/gofil/oomguard"
)

var cache [][]byte

func main() {
	dir := os.Args[1]
	g, err := oomguard.Start(oomguard.WithDir(dir))
	if err != nil {
		log.Printf("no OOM guard: %v", err)
		os.Exit(1)
	}
	l := g.Limit()
	ok := grow(l, l.Bytes/100*91, dir, 1) && grow(l, l.Bytes/100*96, dir, 2)
	if err := g.Stop(); err != nil {
		log.Printf("guard: %v", err)
		ok = false
	}
	fmt.Fprintf(os.Stderr, "held %d MiB\n", len(cache))
	fmt.Println("dumps", dumps(dir))
	if !ok {
		os.Exit(1)
	}
}

// grow adds 1 MiB at a time, each page touched, until the guard has
// written want dumps or the usage reaches upTo; then it waits for the dump
// for up to 20s.
func grow(l oomguard.Limit, upTo uint64, dir string, want int) bool {
	deadline := time.Now().Add(20 * time.Second)
	for dumps(dir) < want {
		used, err := l.Usage()
		if err != nil {
			log.Print(err)
			return false
		}
		if used < upTo {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			cache = append(cache, b)
			continue
		}
		if time.Now().After(deadline) {
			log.Printf("no dump %d after 20s at %d of %d bytes", want, used, l.Bytes)
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// dumps counts the dumps written whole: a sidecar comes after its profile.
func dumps(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "oom-*.json"))
	return len(m)
}
`

// TestProgramsOwnOOMGuard: a service using oomguard's default action, its
// own emergency heap profiles, writes them under `gofil run --memory-limit`
// as it does alone in a cgroup of the same limit: two dumps, each a heap
// profile that parses and holds main.grow's memory, with its JSON
// description. Its stdout and exit code are the same; gofil's own guard
// dumped too, and its report holds the service's memory at the peak.
func TestProgramsOwnOOMGuard(t *testing.T) {
	if err := cgroup.Available(); err != nil {
		t.Skipf("no memory cgroup can be created on this machine: %v", err)
	}
	const limit = 500 << 20
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"main.go": guardService})
	useGofilModule(t, dir, "example.com/svc")
	bin := buildPlain(t, dir)

	// Alone, in a cgroup of the same limit.
	g, err := cgroup.New(fmt.Sprintf("test-%d", os.Getpid()), limit)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	aloneDumps := filepath.Join(t.TempDir(), "oom")
	want := runInside(t, g, bin, aloneDumps)
	if want.code != 0 || want.stdout != "dumps 2\n" {
		t.Fatalf("alone in a cgroup of %d bytes: exit code %d, stdout %q, want 0 and 2 dumps\n%s", limit, want.code, want.stdout, want.stderr)
	}
	checkGuardDumps(t, aloneDumps, 2, limit)
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "report")
	dumpDir := filepath.Join(t.TempDir(), "oom")
	r := gofil(t, dir, "run", "--memory-limit", strconv.Itoa(limit>>20)+"M", "-o", out, ".", "--", dumpDir)
	if r.code != want.code || r.stdout != want.stdout {
		t.Fatalf("under gofil: exit code %d, stdout %q; alone: %d, %q\n%s", r.code, r.stdout, want.code, want.stdout, r.stderr)
	}
	checkGuardDumps(t, dumpDir, 2, limit)
	s := r.summary
	if s == nil || s.OOM == nil || s.OOM.Dumps < 1 || s.OOM.LimitBytes != limit {
		t.Fatalf("gofil's guard: summary %+v, want at least one emergency dump at a limit of %d bytes\n%s", s, limit, r.stderr)
	}
	if s.OOMKilled {
		t.Errorf("summary.json says the program was killed by the out-of-memory killer\n%s", r.stderr)
	}
	held := heldMiB(t, r.stderr)
	t.Logf("alone: %s; under gofil: held %d MiB, gofil's guard dumped %d times, the last at %.1f%% of the limit",
		strings.TrimSpace(want.stderr), held, s.OOM.Dumps, 100*float64(s.OOM.DumpedAtBytes)/limit)
	if got := inclusive(s, "main.grow"); !within(got, held*mib, 0.05) {
		p := s.Peak
		t.Errorf("main.grow holds %d bytes at the peak, want the %d MiB it held, ±5%%; the peak: %s at %.2fs of %.2fs, heap %d (exact %d), tracker %d, notes %q",
			got, held, p.Moment, p.AtSeconds, s.DurationSeconds, p.HeapBytes, p.HeapBytesExact, p.TrackerBytes, s.Notes)
	}
}

// checkGuardDumps checks that dir holds n dumps of oomguard's default
// action, at levels 1 to n: each JSON description names its profile and
// the limit, and each profile parses as a heap profile in which main.grow
// holds at least 90% of the bytes in use, and at least 80% of the limit.
func checkGuardDumps(t *testing.T, dir string, n int, limit uint64) {
	t.Helper()
	infos, _ := filepath.Glob(filepath.Join(dir, "oom-*.json"))
	if len(infos) != n {
		t.Fatalf("%s holds %d dump descriptions, want %d", dir, len(infos), n)
	}
	levels := map[int]bool{}
	for _, p := range infos {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Profile    string `json:"profile"`
			Level      int    `json:"level"`
			UsageBytes uint64 `json:"usage_bytes"`
			LimitBytes uint64 `json:"limit_bytes"`
		}
		if err := json.Unmarshal(data, &info); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		levels[info.Level] = true
		if info.LimitBytes != limit || info.UsageBytes < limit/10*9 {
			t.Errorf("%s: usage %d of a limit of %d bytes, want the limit %d and usage at 90%% of it or more", p, info.UsageBytes, info.LimitBytes, limit)
		}
		f, err := os.Open(filepath.Join(dir, info.Profile))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		prof, err := profile.Parse(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", info.Profile, err)
		}
		idx := -1
		for i, st := range prof.SampleType {
			if st.Type == "inuse_space" {
				idx = i
			}
		}
		if idx < 0 {
			t.Fatalf("%s has no inuse_space: not a heap profile", info.Profile)
		}
		var total, grow int64
		for _, s := range prof.Sample {
			total += s.Value[idx]
			if sampleHas(s, "main.grow") {
				grow += s.Value[idx]
			}
		}
		if float64(grow) < 0.9*float64(total) || grow < int64(limit/10*8) {
			t.Errorf("%s: main.grow holds %d of %d bytes in use, want at least 90%% of them and 80%% of the limit", info.Profile, grow, total)
		}
	}
	for l := 1; l <= n; l++ {
		if !levels[l] {
			t.Errorf("%s has no dump at level %d: %v", dir, l, levels)
		}
	}
}

func sampleHas(s *profile.Sample, fn string) bool {
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function != nil && ln.Function.Name == fn {
				return true
			}
		}
	}
	return false
}

// heldMiB reads the "held N MiB" line the program prints on stderr.
func heldMiB(t *testing.T, stderr string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^held (\d+) MiB$`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the program did not say what it held:\n%s", stderr)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// flamegraphProgram holds 48 MiB in main.load and renders a flamegraph
// with gofil's flamegraph package, a package not compiled into the
// tracker; it prints the folded stacks and the SVG's size (the same input
// always gives the same bytes), and exits 3.
const flamegraphProgram = `package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/gofil/gofil/flamegraph"
)

var keep [][]byte

func load() {
	for i := 0; i < 48; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
}

func main() {
	load()
	samples := []flamegraph.Sample{
		{Stack: []flamegraph.Frame{{Func: "main.main"}, {Func: "main.load", File: "main.go", Line: 14}}, Bytes: int64(len(keep)) << 20},
		{Stack: []flamegraph.Frame{{Func: "main.main"}, {Func: "fmt.Println"}}, Bytes: 4096},
	}
	var svg bytes.Buffer
	if err := flamegraph.Render(&svg, samples, flamegraph.Options{Title: "held"}); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("%s%d bytes of SVG\n", flamegraph.Fold(samples), svg.Len())
	os.Exit(3)
}
`

// TestProgramImportsFlamegraph: a program that imports gofil's flamegraph
// package builds under `gofil run`, prints what it prints alone and exits
// with the same code, and the report holds its 48 MiB at the peak.
func TestProgramImportsFlamegraph(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"main.go": flamegraphProgram})
	useGofilModule(t, dir, "example.com/fg")
	want := runPlain(t, buildPlain(t, dir))
	if want.code != 3 || !strings.Contains(want.stdout, "main.main;main.load 50331648\n") {
		t.Fatalf("alone: exit code %d, stdout %q, want 3 and the folded stacks\n%s", want.code, want.stdout, want.stderr)
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, dir, "run", "-o", out, ".")
	if r.code != want.code || r.stdout != want.stdout {
		t.Fatalf("under gofil: exit code %d, stdout %q; alone: %d, %q\n%s", r.code, r.stdout, want.code, want.stdout, r.stderr)
	}
	if r.summary == nil {
		t.Fatalf("no report\n%s", r.stderr)
	}
	if got := inclusive(r.summary, "main.load"); !within(got, 48*mib, 0.05) {
		t.Errorf("main.load holds %d bytes at the peak, want 48 MiB ±5%%", got)
	}
}

// TestProgramInGofilModule: a program whose own module is
// github.com/gofil/gofil, a fork with a tracker package of its own, runs
// under `gofil run` with its own packages (the fork's tracker) and gofil's
// tracker beside them: the same stdout and exit code as alone, and the
// report holds, at the peak, the 40 MiB the fork's tracker.Hold allocated,
// as the program's own.
func TestProgramInGofilModule(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod": "module github.com/gofil/gofil\n\ngo 1.22\n",
		"tracker/tracker.go": `// Package tracker is the fork's own.
package tracker

// Hold allocates n MiB, each page touched.
func Hold(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		out = append(out, b)
	}
	return out
}
`,
		"cmd/hold/main.go": `package main

import (
	"fmt"
	"runtime"

	"github.com/gofil/gofil/tracker"
)

func main() {
	b := tracker.Hold(40)
	runtime.GC()
	fmt.Println("held", len(b), "MiB")
	runtime.KeepAlive(b)
}
`,
	})
	prog := filepath.Join(dir, "cmd", "hold")
	want := runPlain(t, buildPlain(t, prog))
	if want.code != 0 || want.stdout != "held 40 MiB\n" {
		t.Fatalf("alone: exit code %d, stdout %q\n%s", want.code, want.stdout, want.stderr)
	}
	out := filepath.Join(t.TempDir(), "report")
	r := gofil(t, prog, "run", "-o", out, ".")
	if r.code != want.code || r.stdout != want.stdout {
		t.Fatalf("under gofil: exit code %d, stdout %q; alone: %d, %q\n%s", r.code, r.stdout, want.code, want.stdout, r.stderr)
	}
	if r.summary == nil {
		t.Fatalf("no report\n%s", r.stderr)
	}
	if got := inclusive(r.summary, "github.com/gofil/gofil/tracker.Hold"); !within(got, 40*mib, 0.05) {
		t.Errorf("the fork's tracker.Hold holds %d bytes at the peak, want 40 MiB ±5%%", got)
	}
}

// useGofilModule gives the program in dir a go.mod of module path that
// requires gofil's module, replaced by this repository, and lets
// `go mod tidy` complete it from the module cache, where building gofil
// put every module it needs.
func useGofilModule(t *testing.T, dir, path string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{
		"go.mod": "module " + path + "\n\ngo 1.22\n\nrequire github.com/gofil/gofil v0.0.0\n\nreplace github.com/gofil/gofil => " + root + "\n",
	})
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
}

// buildPlain builds the program in dir with `go build` alone.
func buildPlain(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "prog")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runPlain runs bin with args and gathers its exit code and output.
func runPlain(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(bin, args...), func(c *exec.Cmd) error { return c.Start() })
}

// runInside runs bin with args started inside the cgroup g.
func runInside(t *testing.T, g *cgroup.Group, bin string, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(bin, args...), func(c *exec.Cmd) error { return g.StartInside(c.Start) })
}

func runCmd(t *testing.T, cmd *exec.Cmd, start func(*exec.Cmd) error) result {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := start(cmd); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}
