// Command deadlock allocates 48 MiB in main.hold and then, as its first
// argument says, deadlocks (chan: main waits on a channel nothing sends on;
// wg: a WaitGroup nobody marks done; goexit: main calls runtime.Goexit with
// no other goroutine), or only waits (timer: on a timer's channel for
// 1.5 s; ctx: on a context that times out after 1.5 s) and returns 0. It
// does not link os/signal. Without gofil the first three end with "fatal
// error: all goroutines are asleep - deadlock!" (or "no goroutines") and
// exit code 2, the last two with exit code 0. A mode ending in "-gc"
// (chan-gc) first drops 32 MiB it allocated and runs a GC: the heap at
// that GC's mark, 80 MiB with the garbage, is then the peak, larger than
// the heap when the program blocks.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

var held [][]byte

// sink makes the dropped buffers escape, as real work's would.
var sink []byte

func hold() {
	for i := 0; i < 48; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
	}
}

func main() {
	hold()
	fmt.Println("holding", len(held), "MiB")
	mode := os.Args[1]
	if m, ok := strings.CutSuffix(mode, "-gc"); ok {
		for i := 0; i < 32; i++ {
			sink = make([]byte, 1<<20)
		}
		sink = nil
		runtime.GC()
		mode = m
	}
	switch mode {
	case "chan":
		ch := make(chan int)
		go func() { <-ch }()
		<-ch
	case "wg":
		var wg sync.WaitGroup
		wg.Add(1)
		wg.Wait()
	case "goexit":
		runtime.Goexit()
	case "timer":
		<-time.After(1500 * time.Millisecond)
		fmt.Println("woke", len(held))
	case "ctx":
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		<-ctx.Done()
		fmt.Println("woke", len(held))
	}
}
