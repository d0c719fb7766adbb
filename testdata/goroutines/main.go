// Command goroutines holds its peak across eight goroutines that release
// their memory microseconds after it: each main.worker holds 40 MiB (640
// chunks of 64 KiB) until all eight have theirs, then lets go. At the peak
// main.worker holds 320 MiB.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

const (
	workers   = 8
	chunk     = 64 << 10
	perWorker = 640
)

func main() {
	var all, done sync.WaitGroup
	all.Add(workers)
	done.Add(workers)
	sums := make([]byte, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer done.Done()
			sums[w] = worker(&all, byte(w))
		}(w)
	}
	done.Wait()
	runtime.GC()
	fmt.Println("goroutines: sums", sums)
}

func worker(all *sync.WaitGroup, v byte) byte {
	held := make([][]byte, 0, perWorker)
	for i := 0; i < perWorker; i++ {
		b := make([]byte, chunk)
		for j := 0; j < len(b); j += 4096 {
			b[j] = v
		}
		held = append(held, b)
	}
	all.Done()
	all.Wait() // the peak: every worker holds its memory
	var x byte
	for _, b := range held {
		x ^= b[0]
	}
	return x
}
