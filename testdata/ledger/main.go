// Command ledger holds memory of known kinds at once, to the end, so that
// each part of gofil's ledger of the resident set has a known truth:
//
//   - heap_unused: main.fragment allocates 2 Mi objects of 64 bytes (a size
//     class, so 128 MiB exactly, 128 to each 8 KiB span) and keeps one in
//     16. With the collector off meanwhile, no freed slot is reused, so
//     the objects lie in the order they were made: each span keeps 8 and
//     stays in use, and 120 MiB of the spans hold no object.
//   - stacks: main.deepStacks starts 1,024 goroutines that each grow
//     their stack past 32 KiB (a frame of 60 KiB, which Go clears and so
//     makes resident) and block. Stacks grow by doubling from 8 KiB, so
//     each holds 64 KiB: 64 MiB.
//   - outside_go: main.mapRegion maps 160 MiB with syscall.Mmap and
//     touches every page: 160 MiB resident outside the Go runtime.
//   - not_resident: main.sparse allocates one 384 MiB slice and writes
//     only its first 64 MiB. Memory fresh from the system is known to be
//     zero, so the runtime does not clear it, and the rest is counted in
//     the heap but never made resident: 320 MiB. Should the slice overlap
//     pages the heap used before, the runtime clears all of it; so the
//     program measures the truth itself, by asking the kernel which of the
//     slice's pages are resident (mincore(2), not /proc/PID/smaps, which
//     gofil reads), and prints it.
//
// Everything else is written, so that only the sparse slice is counted
// and not resident. Last, main.last allocates 160 MiB more, written, so
// that the heap is largest once all of the above is in place (while
// main.fragment ran, without a collection, it held 384 + 128 MiB).
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"unsafe"
)

func main() {
	big := sparse(384<<20, 64<<20)
	old := debug.SetGCPercent(-1)
	kept := fragment(2<<20, 16)
	debug.SetGCPercent(old)
	runtime.GC()
	deepStacks(1024)
	region := mapRegion(160 << 20)
	tail := last(160 << 20)
	fmt.Printf("ledger: %d objects kept, %d bytes mapped, %d bytes of %d never resident, %d more\n",
		len(kept), len(region), len(big)-resident(big), len(big), len(tail))
	runtime.KeepAlive(kept)
	runtime.KeepAlive(big)
	runtime.KeepAlive(tail)
}

// fragment allocates n objects of 64 bytes and keeps one in every.
func fragment(n, every int) []*[64]byte {
	kept := make([]*[64]byte, 0, n/every)
	for i := 0; i < n; i++ {
		p := new([64]byte)
		p[0] = 1 // written, so that every page of the spans is resident
		if i%every == 0 {
			kept = append(kept, p)
		}
	}
	return kept
}

// deepStacks starts n goroutines whose stacks grow to 64 KiB, each blocked
// to the end.
func deepStacks(n int) {
	stop := make(chan struct{})
	var ready sync.WaitGroup
	for i := 0; i < n; i++ {
		ready.Add(1)
		go deep(&ready, stop)
	}
	ready.Wait()
}

//go:noinline
func deep(ready *sync.WaitGroup, stop chan struct{}) byte {
	var frame [60 << 10]byte
	frame[len(frame)-1] = 1
	ready.Done()
	<-stop
	return frame[0] + frame[len(frame)-1]
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

// sparse allocates size bytes and writes the first written of them.
func sparse(size, written int) []byte {
	b := make([]byte, size)
	for i := 0; i < written; i += 4096 {
		b[i] = 1
	}
	return b
}

func last(size int) []byte {
	b := make([]byte, size)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// resident is how many bytes of b are resident, by mincore(2).
func resident(b []byte) int {
	const page = 4096
	vec := make([]byte, (len(b)+page-1)/page)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		panic(errno)
	}
	n := 0
	for _, v := range vec {
		if v&1 != 0 {
			n += page
		}
	}
	return n
}
