// Command overhead measures what gofil costs, as whole processes, the way a
// user feels it. `make bench` runs it.
//
// Two tables, each pair of commands run in turn (A B A B ...), so that a
// machine whose speed drifts moves both alike; each ratio is the median of
// the pair-by-pair ratios:
//
//   - the tracker alone: the program built by `gofil build` and run with
//     GOFIL_OUT set, against the same program built by `go build`: wall
//     time, CPU time (user + sys) and peak RSS (wait4's maxrss) of the whole
//     process, the tracker's start and final accounting included;
//   - `gofil run` against `go run` of the same package, a second run of an
//     unchanged program: what a user waits for, build and report included.
//
// The workloads are testdata programs and two real tools fetched from the
// module proxy by this command itself: gojq on a 60 MB JSON document and
// Miller sorting a 45 MB CSV, with inputs it generates. With -oom it
// measures instead how soon the OOM guard's first dump is on disk on a heap
// of 11 million objects (testdata/oombig under --memory-limit).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/privtmp"
)

// The real tools, at versions the module proxy serves.
const (
	gojqModule   = "github.com/itchyny/gojq@v0.12.19"
	gojqPkg      = "github.com/itchyny/gojq/cmd/gojq"
	millerModule = "github.com/johnkerl/miller/v6@v6.13.0"
	millerPkg    = "github.com/johnkerl/miller/v6/cmd/mlr"
)

// workload is one program and how to run it.
type workload struct {
	name string
	// dir is where the commands run: the package's module.
	dir string
	// pkg is the package as `go run` and `gofil run` take it.
	pkg  string
	args []string
}

func main() {
	runs := flag.Int("runs", 5, "pairs of runs per workload")
	gofil := flag.String("gofil", "bin/gofil", "the gofil binary")
	testdata := flag.String("testdata", "testdata", "the testdata directory")
	tools := flag.Bool("tools", true, "also measure gojq and Miller, fetched from the module proxy")
	alone := flag.Bool("alone", true, "measure the tracker alone: `gofil build` against `go build`")
	runVsGo := flag.Bool("run", true, "measure `gofil run` against `go run`")
	oom := flag.Bool("oom", false, "measure the OOM guard's time to its first dump instead")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "gofil-overhead-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	// The programs built there are run: a TMPDIR another user could change
	// is refused.
	if err := privtmp.Check(tmp); err != nil {
		os.RemoveAll(tmp)
		fail(err)
	}
	gofilAbs, err := filepath.Abs(*gofil)
	if err != nil {
		fail(err)
	}
	td, err := filepath.Abs(*testdata)
	if err != nil {
		fail(err)
	}
	if *oom {
		oomDumps(gofilAbs, filepath.Join(td, "oombig"), tmp, *runs)
		return
	}
	names := flag.Args()
	if len(names) == 0 {
		names = []string{"example", "smallobjs", "longjob", "goroutines", "mmap", "gccycles"}
	}
	var ws []workload
	for _, n := range names {
		ws = append(ws, workload{name: n, dir: filepath.Join(td, n), pkg: "."})
	}
	if *tools && len(flag.Args()) == 0 {
		ws = append(ws, realTools(tmp)...)
	}
	m := machine()
	fmt.Printf("Machine: %s. Pairs per workload: %d, interleaved; each ratio is the median of the pairs' ratios.\n\n", m, *runs)
	if *alone {
		fmt.Printf("### The tracker alone: `gofil build` vs `go build`, whole processes\n\n")
		fmt.Printf("| workload | plain wall | gofil wall | wall ratio | CPU ratio | plain peak RSS | RSS ratio |\n")
		fmt.Printf("|---|---|---|---|---|---|---|\n")
		for _, w := range ws {
			trackerAlone(gofilAbs, w, tmp, *runs)
		}
	}
	if !*runVsGo {
		return
	}
	fmt.Printf("\n### `gofil run` vs `go run`, an unchanged program run again, whole processes\n\n")
	fmt.Printf("| workload | go run | gofil run | ratio | difference |\n")
	fmt.Printf("|---|---|---|---|---|\n")
	for _, w := range ws {
		if w.name == "example" || strings.HasPrefix(w.name, "gojq") || strings.HasPrefix(w.name, "miller") {
			runVsGoRun(gofilAbs, w, tmp, *runs)
		}
	}
}

// usage is what wait4 says of one finished process.
type usage struct {
	wall, cpu, rss float64
}

// run runs argv in dir with env added, its output thrown away, and
// returns its usage; it fails the benchmark if the command fails.
func run(dir string, env []string, argv ...string) usage {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var errb strings.Builder
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, errb.String()))
	}
	wall := time.Since(start).Seconds()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return usage{wall: wall, cpu: cpu, rss: float64(ru.Maxrss) * 1024}
}

// trackerAlone prints w's row of the tracker-alone table.
func trackerAlone(gofil string, w workload, tmp string, runs int) {
	plain := filepath.Join(tmp, w.name+"-plain")
	tracked := filepath.Join(tmp, w.name+"-gofil")
	run(w.dir, nil, "go", "build", "-o", plain, w.pkg)
	run(w.dir, nil, gofil, "build", "-o", tracked, w.pkg)
	var wall, cpu, rss []float64
	var plainWall, plainRSS, gofilWall []float64
	for i := 0; i < runs+1; i++ {
		out := filepath.Join(tmp, fmt.Sprintf("%s-out-%d", w.name, i))
		if err := os.Mkdir(out, 0o700); err != nil {
			fail(err)
		}
		a := run(w.dir, nil, append([]string{plain}, w.args...)...)
		b := run(w.dir, []string{"GOFIL_OUT=" + out}, append([]string{tracked}, w.args...)...)
		os.RemoveAll(out)
		if i == 0 {
			continue // a warm-up: the page cache, the input
		}
		wall, cpu, rss = append(wall, b.wall/a.wall), append(cpu, b.cpu/a.cpu), append(rss, b.rss/a.rss)
		plainWall, plainRSS, gofilWall = append(plainWall, a.wall), append(plainRSS, a.rss), append(gofilWall, b.wall)
	}
	fmt.Printf("| %s | %.2f s | %.2f s | %.3f | %.3f | %.1f MiB | %.3f |\n", w.name, median(plainWall), median(gofilWall), median(wall), median(cpu), median(plainRSS)/(1<<20), median(rss))
}

// runVsGoRun prints w's row of the `gofil run` vs `go run` table: both
// commands as a user types them, after a first run of each that builds
// and caches what they cache.
func runVsGoRun(gofil string, w workload, tmp string, runs int) {
	var goWall, gofilWall, ratio []float64
	for i := 0; i < runs+1; i++ {
		out := filepath.Join(tmp, fmt.Sprintf("%s-run-%d", w.name, i))
		a := run(w.dir, nil, append([]string{"go", "run", w.pkg}, w.args...)...)
		b := run(w.dir, nil, append([]string{gofil, "run", "-o", out, w.pkg, "--"}, w.args...)...)
		os.RemoveAll(out)
		if i == 0 {
			continue
		}
		goWall, gofilWall, ratio = append(goWall, a.wall), append(gofilWall, b.wall), append(ratio, b.wall/a.wall)
	}
	fmt.Printf("| %s | %.2f s | %.2f s | %.3f | %+.2f s |\n", w.name, median(goWall), median(gofilWall), median(ratio), median(gofilWall)-median(goWall))
}

// realTools fetches gojq and Miller into a module of their own, generates
// their inputs, and returns them as workloads.
func realTools(tmp string) []workload {
	mod := filepath.Join(tmp, "tools")
	if err := os.Mkdir(mod, 0o700); err != nil {
		fail(err)
	}
	run(mod, nil, "go", "mod", "init", "example.com/benchtools")
	for _, m := range []string{gojqModule, millerModule} {
		run(mod, []string{"GOFLAGS=-mod=mod"}, "go", "get", m)
	}
	// A file that imports both keeps them in go.mod for `go run`.
	tools := "//go:build tools\n\npackage tools\n\nimport (\n\t_ \"" + gojqPkg + "\"\n\t_ \"" + millerPkg + "\"\n)\n"
	if err := os.WriteFile(filepath.Join(mod, "tools.go"), []byte(tools), 0o600); err != nil {
		fail(err)
	}
	run(mod, []string{"GOFLAGS=-mod=mod"}, "go", "mod", "tidy")
	jsonFile, csvFile := filepath.Join(mod, "big.json"), filepath.Join(mod, "big.csv")
	writeInputs(jsonFile, csvFile)
	return []workload{
		{name: "gojq (60 MB JSON)", dir: mod, pkg: gojqPkg, args: []string{"-c", `map(select(.score > 50)) | group_by(.group) | map({group: .[0].group, n: length, tags: (map(.tags[]) | unique | length)})`, jsonFile}},
		{name: "miller (sort, 45 MB CSV)", dir: mod, pkg: millerPkg, args: []string{"--icsv", "--ocsv", "sort", "-f", "name", "-nr", "score", csvFile}},
	}
}

// writeInputs writes the tools' inputs: records of a few fields each,
// deterministic, of the sizes real data jobs read.
func writeInputs(jsonFile, csvFile string) {
	jf, err := os.Create(jsonFile)
	if err != nil {
		fail(err)
	}
	jw := bufio.NewWriter(jf)
	jw.WriteString("[")
	x := uint64(1)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := 0; i < 300_000; i++ {
		if i > 0 {
			jw.WriteString(",\n")
		}
		fmt.Fprintf(jw, `{"id":%d,"name":"user-%d","group":"g%d","score":%d.%d,"tags":["t%d","t%d","t%d"],"address":{"street":"%d Main Street","city":"City %d","zip":"%05d"}}`,
			i, next()%1_000_000, next()%500, next()%100, next()%100, next()%50, next()%50, next()%50, next()%10_000, next()%1_000, next()%100_000)
	}
	jw.WriteString("]\n")
	if err := jw.Flush(); err != nil {
		fail(err)
	}
	jf.Close()
	cf, err := os.Create(csvFile)
	if err != nil {
		fail(err)
	}
	cw := bufio.NewWriter(cf)
	cw.WriteString("id,name,group,score,city,zip\n")
	for i := 0; i < 800_000; i++ {
		fmt.Fprintf(cw, "%d,user-%d,g%d,%d.%d,City %d,%05d\n", i, next()%1_000_000, next()%500, next()%100, next()%100, next()%1_000, next()%100_000)
	}
	if err := cw.Flush(); err != nil {
		fail(err)
	}
	cf.Close()
}

// machine describes where the figures were measured.
func machine() string {
	out, _ := exec.Command("go", "version").Output()
	return fmt.Sprintf("%d cores, %s", runtime.NumCPU(), strings.TrimSpace(strings.TrimPrefix(string(out), "go version ")))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "overhead:", err)
	os.Exit(1)
}

// oomDumps runs testdata/oombig under a 900 MiB limit and prints, per run,
// the time from crossing the guard's threshold to the first dump on disk
// (synced) and to the refined one, and the dump's heap.
func oomDumps(gofil, dir, tmp string, runs int) {
	fmt.Printf("| run | objects in the heap | first dump on disk | refined dump on disk | dump heap | sampled vs exact |\n")
	fmt.Printf("|---|---|---|---|---|---|\n")
	var firsts []float64
	for i := 0; i < runs; i++ {
		out := filepath.Join(tmp, fmt.Sprintf("oom-%d", i))
		cmd := exec.Command(gofil, "run", "--memory-limit", "900M", "-o", out, ".")
		cmd.Dir = dir
		cmd.Run() // the program is killed: its exit code is 137
		data, err := os.ReadFile(filepath.Join(out, "summary.json"))
		if err != nil {
			fail(err)
		}
		var s struct {
			OOM *struct {
				First   float64 `json:"first_dump_seconds"`
				Dump    float64 `json:"dump_seconds"`
				Refined bool    `json:"refined"`
				Heap    int64   `json:"heap_bytes"`
				Sampled int64   `json:"sampled_bytes"`
				Exact   *uint64 `json:"mark_heap_bytes_exact"`
				Fns     []struct {
					Function string `json:"function"`
					Objects  int64  `json:"objects"`
				} `json:"functions"`
			} `json:"oom"`
		}
		if err := json.Unmarshal(data, &s); err != nil {
			fail(err)
		}
		o := s.OOM
		if o == nil {
			fail(fmt.Errorf("run %d: no emergency dump", i))
		}
		var objects int64
		for _, f := range o.Fns {
			if f.Function == "main.buildList" {
				objects = f.Objects
			}
		}
		refined := "killed first"
		if o.Refined {
			refined = fmt.Sprintf("%.0f ms", 1000*o.Dump)
		}
		vs := "unknown"
		if o.Exact != nil && *o.Exact > 0 {
			vs = fmt.Sprintf("%+.2f%%", 100*(float64(o.Sampled)-float64(*o.Exact))/float64(*o.Exact))
		}
		fmt.Printf("| %d | %.1f M | %.1f ms | %s | %.1f MiB | %s |\n", i+1, float64(objects)/1e6, 1000*o.First, refined, float64(o.Heap)/(1<<20), vs)
		firsts = append(firsts, o.First)
	}
	fmt.Printf("\nmedian time to the first dump on disk: %.1f ms\n", 1000*median(firsts))
}
