// Command exits ends in the way its first argument names, right after
// main.hold has allocated 64 MiB (64 blocks of 1 MiB) and before any GC has
// seen it: return, exit (os.Exit(3)), fatal (log.Fatal), panic,
// goexit-panic (a panic in another goroutine), wait (prints "ready" and
// waits to be killed by a signal), handled (handles SIGTERM itself, then
// returns 0), killed (runs one GC, waits 200ms, prints "ready" and waits for SIGKILL),
// fill DIR (fills the disk DIR is on, then exits 42: the tracker and gofil
// then find no room for their files), survive (prints "ready", sleeps 1.5s, prints "survived" and returns: a
// signal it was started ignoring must not end it).
package main

import (
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

var held [][]byte

func hold() {
	for i := 0; i < 64; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
	}
}

func main() {
	mode := "return"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	var handled chan os.Signal
	if mode == "handled" {
		handled = make(chan os.Signal, 1)
		signal.Notify(handled, syscall.SIGTERM)
	}
	hold()
	switch mode {
	case "return":
		return
	case "exit":
		os.Exit(3)
	case "fatal":
		log.Fatal("exits: fatal")
	case "panic":
		panic("exits: panic")
	case "goroutine-panic":
		go func() { panic("exits: panic in a goroutine") }()
		time.Sleep(time.Minute)
	case "wait":
		fmt.Println("ready")
		select {}
	case "handled":
		fmt.Println("ready")
		<-handled
		fmt.Println("exits: shutting down")
		return
	case "fill":
		f, err := os.Create(os.Args[2] + "/filler")
		if err != nil {
			fmt.Fprintln(os.Stderr, "exits:", err)
			os.Exit(64)
		}
		block := make([]byte, 64<<10)
		for {
			if _, err := f.Write(block); err != nil {
				break
			}
		}
		f.Close()
		os.Exit(42)
	case "survive":
		fmt.Println("ready")
		time.Sleep(1500 * time.Millisecond)
		fmt.Println("survived")
		return
	case "killed":
		runtime.GC()
		// Give the tracker, which polls every few milliseconds, time to
		// see the GC and write what it found.
		time.Sleep(200 * time.Millisecond)
		fmt.Println("ready")
		select {}
	}
	fmt.Fprintln(os.Stderr, "exits: unknown mode", mode)
	os.Exit(64)
}
