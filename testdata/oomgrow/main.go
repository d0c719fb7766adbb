// Command oomgrow grows a cache until the kernel's out-of-memory killer
// ends it: main.growCache adds entries of many sizes from one line, as a
// real cache of records does (most of 1 to 32 KiB, some of 256 KiB to
// 2 MiB), each touched so it is resident, at 500 MiB/s (the rate gofil's
// OOM guard is designed to keep up with). Nothing else holds memory to
// speak of: under a memory limit, at every moment before the kill
// main.growCache holds nearly all of the Go heap.
package main

import (
	"fmt"
	"math/rand"
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
	rng := rand.New(rand.NewSource(1))
	start := time.Now()
	var total int
	for i := 0; ; i++ {
		size := 1<<10 + rng.Intn(31<<10)
		if rng.Intn(10) < 3 {
			size = 256<<10 + rng.Intn(1792<<10)
		}
		b := make([]byte, size)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		cache = append(cache, b)
		total += size
		if i%64 == 63 {
			// Keep to the rate: total bytes should take total/rate seconds.
			due := start.Add(time.Duration(total) * time.Second / (rate << 20))
			time.Sleep(time.Until(due))
		}
	}
}
