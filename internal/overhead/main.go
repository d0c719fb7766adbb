// Command overhead measures what gofil's tracker costs a program: each
// testdata workload is built plainly and run, and run under `gofil run`,
// the two interleaved, several times. It prints the median wall time and
// peak RSS of each and their ratios as a Markdown table. With -oom it
// measures instead how soon the OOM guard's first dump is on disk on a heap
// of 11 million objects (testdata/oombig under --memory-limit). `make bench`
// runs both.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/privtmp"
)

func main() {
	runs := flag.Int("runs", 5, "runs of each variant per workload")
	gofil := flag.String("gofil", "bin/gofil", "the gofil binary")
	testdata := flag.String("testdata", "testdata", "the testdata directory")
	oom := flag.Bool("oom", false, "measure the OOM guard's time to its first dump instead")
	flag.Parse()
	workloads := flag.Args()
	if len(workloads) == 0 {
		workloads = []string{"example", "goroutines", "smallobjs", "mmap", "longjob"}
	}
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
	if *oom {
		oomDumps(gofilAbs, filepath.Join(*testdata, "oombig"), tmp, *runs)
		return
	}
	fmt.Printf("| workload | plain wall | gofil wall | wall ratio | plain peak RSS | gofil peak RSS | RSS ratio |\n")
	fmt.Printf("|---|---|---|---|---|---|---|\n")
	for _, w := range workloads {
		dir, err := filepath.Abs(filepath.Join(*testdata, w))
		if err != nil {
			fail(err)
		}
		bin := filepath.Join(tmp, w)
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Dir = dir
		if out, err := build.CombinedOutput(); err != nil {
			fail(fmt.Errorf("build %s: %v\n%s", w, err, out))
		}
		var plainWall, gofilWall, plainRSS, gofilRSS []float64
		for i := 0; i < *runs; i++ {
			wall, rss := runPlain(bin, dir)
			plainWall, plainRSS = append(plainWall, wall), append(plainRSS, rss)
			wall, rss = runGofil(gofilAbs, dir, filepath.Join(tmp, fmt.Sprintf("%s-%d", w, i)))
			gofilWall, gofilRSS = append(gofilWall, wall), append(gofilRSS, rss)
		}
		pw, gw, pr, gr := median(plainWall), median(gofilWall), median(plainRSS), median(gofilRSS)
		fmt.Printf("| %s | %.3f s | %.3f s | %.3f | %.1f MiB | %.1f MiB | %.3f |\n", w, pw, gw, gw/pw, pr/(1<<20), gr/(1<<20), gr/pr)
	}
}

func runPlain(bin, dir string) (wall, rss float64) {
	cmd := exec.Command(bin)
	cmd.Dir = dir
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%s: %v", bin, err))
	}
	wall = time.Since(start).Seconds()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, float64(ru.Maxrss) * 1024
}

// runGofil runs the workload under gofil and reads the program's own wall
// time and peak RSS from the report, so gofil's build and report time are
// not counted.
func runGofil(gofil, dir, out string) (wall, rss float64) {
	cmd := exec.Command(gofil, "run", "-o", out, ".")
	cmd.Dir = dir
	if outb, err := cmd.CombinedOutput(); err != nil {
		fail(fmt.Errorf("gofil run %s: %v\n%s", dir, err, outb))
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		fail(err)
	}
	var s struct {
		Duration float64 `json:"duration_seconds"`
		Peak     struct {
			RSS float64 `json:"rss_bytes"`
		} `json:"peak"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		fail(err)
	}
	return s.Duration, s.Peak.RSS
}

func median(v []float64) float64 {
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
