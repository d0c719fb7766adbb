// Command oldgo is a module at Go 1.19: main.hold holds 64 MiB at the peak.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	b := hold()
	runtime.GC()
	fmt.Println("oldgo:", len(b))
}

func hold() [][]byte {
	var out [][]byte
	for i := 0; i < 64; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		out = append(out, b)
	}
	return out
}
