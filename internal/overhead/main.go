// Command overhead measures what gofil's tracker costs a program: each
// testdata workload is built plainly and run, and run under `gofil run`,
// the two interleaved, several times. It prints the median wall time and
// peak RSS of each and their ratios as a Markdown table. `make bench` runs
// it.
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
)

func main() {
	runs := flag.Int("runs", 5, "runs of each variant per workload")
	gofil := flag.String("gofil", "bin/gofil", "the gofil binary")
	testdata := flag.String("testdata", "testdata", "the testdata directory")
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
	gofilAbs, err := filepath.Abs(*gofil)
	if err != nil {
		fail(err)
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
