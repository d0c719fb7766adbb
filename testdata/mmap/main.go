// Command mmap holds memory the Go heap profile cannot see beside heap
// memory: main.mapRegion maps and touches 128 MiB with syscall.Mmap, and
// main.fillHeap holds 192 MiB (192 blocks of 1 MiB) in the Go heap, both to
// the end. gofil reports the mapping as memory outside the Go heap.
package main

import (
	"fmt"
	"runtime"
	"syscall"
)

func main() {
	region := mapRegion(128 << 20)
	blocks := fillHeap(192)
	runtime.GC()
	fmt.Println("mmap: region", len(region), "blocks", len(blocks))
	runtime.KeepAlive(blocks)
	// The mapping stays until the process exits, so that it is resident at
	// every candidate peak, the exit included.
}

func mapRegion(size int) []byte {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

func fillHeap(n int) [][]byte {
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
