// Command gccycles runs more than 10,000 GC cycles in a few seconds, for
// gofil's overhead benchmark: it sets GOGC to 10, keeps a small index (about
// 2 MiB) and churns buffers of many sizes from several sites, so that the
// tracker sees a GC cycle every few hundred microseconds, each with a heap
// profile to account and a line and a moment to keep.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

var sink [][]byte

func decode(n int) []byte   { return make([]byte, n) }
func encode(n int) []byte   { return make([]byte, n+16) }
func compress(n int) []byte { return make([]byte, 2*n) }
func scratch(n int) []byte  { return make([]byte, n/2+8) }

func main() {
	debug.SetGCPercent(10)
	index := make([][]byte, 0, 4096)
	for i := 0; i < 4096; i++ {
		index = append(index, make([]byte, 512))
	}
	sink = make([][]byte, 16)
	var ms runtime.MemStats
	for i := 0; ; i++ {
		n := 64 << (i % 8) // 64 B .. 8 KiB
		sink[i%16] = decode(n)
		sink[(i+3)%16] = encode(n)
		sink[(i+7)%16] = compress(n)
		sink[(i+11)%16] = scratch(n)
		if i%4096 == 0 {
			runtime.ReadMemStats(&ms)
			if ms.NumGC >= 10_500 {
				break
			}
		}
	}
	runtime.KeepAlive(index)
	fmt.Printf("gccycles: %d GC cycles\n", ms.NumGC)
}
