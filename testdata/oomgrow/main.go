// Command oomgrow grows a cache until the kernel's out-of-memory killer
// ends it: main.growCache adds 1 MiB entries, each touched so it is
// resident, at 500 MiB/s (the rate gofil's OOM guard is designed to keep up
// with), and nothing else holds memory to speak of. Under a memory limit, at
// every moment before the kill main.growCache holds nearly all of the Go
// heap.
package main

import (
	"fmt"
	"os"
	"time"
)

// rate is how fast the cache grows, in MiB per second.
const rate = 500

var cache [][]byte

func main() {
	fmt.Fprintln(os.Stderr, "oomgrow: growing until killed")
	growCache()
}

func growCache() {
	start := time.Now()
	for i := 0; ; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		cache = append(cache, b)
		if i%8 == 7 {
			// Keep to the rate: i+1 MiB should take (i+1)/rate seconds.
			due := start.Add(time.Duration(i+1) * time.Second / rate)
			time.Sleep(time.Until(due))
		}
	}
}
