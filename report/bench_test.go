package report

import (
	"fmt"
	"testing"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/rundir"
)

// writeManyStacks writes into dir the tracker's files of a run shaped as
// testdata/manystacks: 2^levels paths down a recursive walk, each a
// distinct stack, all held at the peak, and four moments holding a
// growing share of them.
func writeManyStacks(tb testing.TB, dir string, levels int) {
	tb.Helper()
	frames := []raw.Frame{
		{Func: "runtime.makeslice", File: "/go/src/runtime/slice.go", Line: 116},
		{Func: "runtime.mallocgc", File: "/go/src/runtime/malloc.go", Line: 1000},
		{Func: "main.keep", File: "/app/main.go", Line: 105},
		{Func: "main.walk", File: "/app/main.go", Line: 90},
		{Func: "main.walk", File: "/app/main.go", Line: 92},
		{Func: "main.main", File: "/app/main.go", Line: 69},
		{Func: "runtime.main", File: "/go/src/runtime/proc.go", Line: 283},
	}
	paths := 1 << levels
	stacks := make([][]int, paths)
	for p := range stacks {
		s := []int{0, 1, 2}
		for d := 0; d < levels; d++ {
			s = append(s, 3+(p>>d)&1)
		}
		stacks[p] = append(s, 5, 6)
	}
	peak := raw.Profile{Version: raw.Version, Reason: "gc", Cycle: 9, AtNS: 4e9, Rate: 512, Frames: frames}
	moments := raw.Moments{Version: raw.Version, Rate: 512, Frames: frames, Stacks: stacks}
	for _, s := range stacks {
		peak.Stacks = append(peak.Stacks, raw.Stack{Frames: s, Objects: 1, Bytes: 4096, LiveObjects: 1, LiveBytes: 4096})
	}
	peak.Bytes, peak.SampledBytes, peak.LiveBytes = int64(paths)*4096, int64(paths)*4096, int64(paths)*4096
	for k := 1; k <= 4; k++ {
		mo := raw.Moment{Cycle: uint32(2 * k), AtNS: int64(k) * 1e9, Bytes: int64(paths*k/4) * 4096}
		mo.LiveBytes = mo.Bytes
		for p := paths * (k - 1) / 4; p < paths*k/4; p++ {
			mo.Changes = append(mo.Changes, [4]int64{int64(p), 1, 4096, 4096})
		}
		moments.Moments = append(moments.Moments, mo)
	}
	if err := raw.WriteJSON(dir, raw.PeakFile, &peak); err != nil {
		tb.Fatal(err)
	}
	if err := raw.WriteJSON(dir, raw.MomentsFile, &moments); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkReportManyStacks measures gofil report's work on a run of
// many distinct stacks, from reading the tracker's files to the page:
// its time and allocations per stack should stay flat as they grow.
func BenchmarkReportManyStacks(b *testing.B) {
	for _, levels := range []int{13, 16} {
		b.Run(fmt.Sprintf("stacks=%d", 1<<levels), func(b *testing.B) {
			rawDir, out := b.TempDir(), b.TempDir()
			writeManyStacks(b, rawDir, levels)
			for b.Loop() {
				run, err := rundir.Load(rawDir)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := WriteDir(out, rundir.Meta{}, run, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(int(1)<<levels), "ns/stack")
		})
	}
}
