// Command mmapspike holds 100 MiB in the Go heap to the end
// (main.fillHeap, 100 blocks of 1 MiB) and, for 300 ms in the middle of the
// run, a 200 MiB anonymous mapping (main.mapRegion, every page touched)
// that the heap profile cannot see. No GC runs while the mapping is held.
// The process is largest then, 300 MiB and the runtime's own: that is the
// peak, with about 200 MiB outside the Go heap and main.fillHeap's 100 MiB
// in it. At exit it holds only the 100 MiB.
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
)

func main() {
	blocks := fillHeap(100)
	region := mapRegion(200 << 20)
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Munmap(region); err != nil {
		panic(err)
	}
	time.Sleep(100 * time.Millisecond)
	fmt.Println("mmapspike: blocks", len(blocks))
	runtime.KeepAlive(blocks)
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
