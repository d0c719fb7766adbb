// Command oomgrow grows a cache until the kernel's out-of-memory killer
// ends it: main.growCache adds 1 MiB entries, each touched so it is
// resident, as fast as it can, and nothing else holds memory to speak of.
// Under a memory limit, at every moment before the kill main.growCache holds
// nearly all of the Go heap.
package main

import (
	"fmt"
	"os"
)

var cache [][]byte

func main() {
	fmt.Fprintln(os.Stderr, "oomgrow: growing until killed")
	growCache()
}

func growCache() {
	for i := 0; ; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		cache = append(cache, b)
	}
}
