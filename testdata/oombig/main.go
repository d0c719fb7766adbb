// Command oombig builds a heap of 11 million small objects (a linked list
// of 48-byte nodes, 504 MiB), then grows slowly, 40 MiB/s in 1 MiB blocks,
// until a memory limit ends it. It measures how fast gofil's OOM guard gets
// a first dump to disk on a heap of many objects, where accounting the heap
// at the trigger (two GC cycles that mark every node) takes about a second.
package main

import (
	"fmt"
	"os"
	"time"
)

type node struct {
	next     *node
	key, val int64
	pad      [3]int64
}

var (
	list   *node
	blocks [][]byte
)

func main() {
	buildList(11_000_000)
	fmt.Fprintln(os.Stderr, "oombig: list built, growing until killed")
	grow()
}

func buildList(n int) {
	for i := 0; i < n; i++ {
		list = &node{next: list, key: int64(i), val: int64(i) * 3}
	}
}

func grow() {
	start := time.Now()
	for i := 0; ; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		blocks = append(blocks, b)
		due := start.Add(time.Duration(i+1) * time.Second / 40)
		time.Sleep(time.Until(due))
	}
}
