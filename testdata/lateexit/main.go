// Command lateexit holds 32 MiB, prints a line and exits with code 5: the
// signals gofil receives after it ended must not cost its report or its
// exit code. With "storm", it first catches SIGINT, SIGTERM and SIGHUP,
// prints "ready", and counts the signals it gets for a second before it
// prints "done N" and exits 5.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

var held [][]byte

func main() {
	for i := 0; i < 32; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
	}
	if len(os.Args) > 1 && os.Args[1] == "storm" {
		c := make(chan os.Signal, 64)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		fmt.Println("ready")
		n := 0
		end := time.After(time.Second)
	loop:
		for {
			select {
			case <-c:
				n++
			case <-end:
				break loop
			}
		}
		fmt.Println("done", n)
		os.Exit(5)
	}
	fmt.Println("bye")
	os.Exit(5)
}
