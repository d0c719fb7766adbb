// Command manystacks allocates from tens of thousands of distinct call
// stacks, as a large program (a linter, a compiler) does, and holds a known
// heap at the end: what a profiler keeps per distinct stack, it keeps here
// tens of thousands of times.
//
// walk descends levels deep, calling itself from one of two call sites at
// each level as one bit of the path says: the return addresses differ, so
// every path is a distinct stack (levels+6 frames, well within the 32 a
// heap-profile record keeps; the allocator's own frames may differ by size
// class too). At the bottom, each path allocates:
//
//	main.keep   one 4 KiB buffer it keeps (4096 bytes is a size class:
//	            the allocator rounds nothing)
//	main.churn  churnRounds buffers of four sizes it drops at once, which
//	            make the path's stack likely to be sampled at the default
//	            64 KiB rate, and give it several heap-profile records, one
//	            per size
//
// With 15 levels, the default rate samples about 48,000 distinct stacks
// in 60,000 (stack, size) records. At the end, when the heap is largest,
// it holds paths × 4 KiB (128 MiB) in main.keep and the slice that holds
// them (768 KiB, main.main).
//
// MANYSTACKS_LEVELS, when set, gives another level count (1 to 20): 17
// levels make 131,072 paths and hold 512 MiB.
//
// The truth is measured by the program itself: the live heap after
// runtime.GC, from runtime.ReadMemStats, before and after the walk, with
// runtime.KeepAlive on what it keeps. The churn is garbage as soon as it
// is made, and the GC that measures collects it. With TRUTH_OUT set, the
// program writes its truth there as JSON.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"example.com/gofiltest/truth"
)

const (
	defaultLevels = 15
	maxLevels     = 20
	keepSize      = 4 << 10
	churnRounds   = 2
)

// churnSizes are the dropped buffers' sizes, each its own size class.
var churnSizes = [...]int{8 << 10, 16 << 10, 24 << 10, 32 << 10}

// sink makes the churn escape, as the program's real work would.
var sink []byte

func main() {
	levels := defaultLevels
	if v := os.Getenv("MANYSTACKS_LEVELS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLevels {
			fmt.Fprintf(os.Stderr, "manystacks: MANYSTACKS_LEVELS=%q: want a level count from 1 to %d\n", v, maxLevels)
			os.Exit(2)
		}
		levels = n
	}
	paths := 1 << levels
	var t truth.Truth
	before := truth.LiveHeap()
	kept := make([][]byte, paths)
	for p := 0; p < paths; p++ {
		kept[p] = walk(levels, uint32(p))
	}
	t.Total = int64(t.Add("main.keep", before))
	if err := t.Write(); err != nil {
		fmt.Fprintln(os.Stderr, "manystacks:", err)
		os.Exit(1)
	}
	var sum int
	for _, b := range kept {
		sum += len(b)
	}
	fmt.Printf("manystacks: %d paths, %d bytes kept\n", len(kept), sum)
	runtime.GC()
	runtime.KeepAlive(kept)
}

// walk goes down depth more levels along path, one bit a level, and
// allocates at the bottom.
//
//go:noinline
func walk(depth int, path uint32) []byte {
	if depth == 0 {
		churn()
		return keep()
	}
	if path&1 == 0 {
		return walk(depth-1, path>>1)
	}
	b := walk(depth-1, path>>1)
	return b
}

//go:noinline
func keep() []byte {
	return make([]byte, keepSize)
}

//go:noinline
func churn() {
	for r := 0; r < churnRounds; r++ {
		for _, n := range churnSizes {
			sink = make([]byte, n)
		}
	}
	sink = nil
}
