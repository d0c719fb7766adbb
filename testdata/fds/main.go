// Command fds uses descriptors as programs do, to show that gofil's
// tracker stays out of their way. Its first argument says how:
//
//   - read3: prints what it reads on descriptor 3 (run it with 3<FILE).
//   - listen: takes the listening socket that socket activation passes on
//     descriptor 3 (LISTEN_PID is its own pid, LISTEN_FDS=1), answers one
//     connection with "hello" and returns.
//   - close10 DIR FILE and closeall DIR FILE: closes descriptor 10, or every
//     descriptor above 2 but the runtime's own (epoll, eventfd), opens FILE
//     and puts it at every number it closed; then, while DIR (the run's
//     raw directory) is renamed away so that the tracker's writes fail and
//     it has something to say, grows its heap over a few GC cycles; puts
//     DIR back and writes a last line. FILE must then hold its two lines
//     and nothing of the tracker's.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: fds read3 | listen | close10 DIR FILE | closeall DIR FILE"))
	}
	switch os.Args[1] {
	case "read3":
		data, err := io.ReadAll(os.NewFile(3, "fd 3"))
		if err != nil {
			fail(err)
		}
		fmt.Printf("fd 3: %s", data)
	case "listen":
		listen()
	case "close10", "closeall":
		reuse(os.Args[1] == "closeall", os.Args[2], os.Args[3])
	}
}

func listen() {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
		fail(fmt.Errorf("no socket passed: LISTEN_PID=%q (pid %d), LISTEN_FDS=%q", os.Getenv("LISTEN_PID"), os.Getpid(), os.Getenv("LISTEN_FDS")))
	}
	l, err := net.FileListener(os.NewFile(3, "LISTEN_FDS"))
	if err != nil {
		fail(err)
	}
	c, err := l.Accept()
	if err != nil {
		fail(err)
	}
	fmt.Fprintln(c, "hello")
	c.Close()
	fmt.Println("answered")
}

var held [][]byte

func reuse(all bool, dir, file string) {
	var numbers []int
	if all {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			fail(err)
		}
		for _, e := range entries {
			fd, _ := strconv.Atoi(e.Name())
			link, err := os.Readlink("/proc/self/fd/" + e.Name())
			if fd > 2 && err == nil && !strings.HasPrefix(link, "anon_inode:") {
				numbers = append(numbers, fd)
			}
		}
	} else {
		numbers = []int{10}
	}
	for _, fd := range numbers {
		syscall.Close(fd)
	}
	mine, err := syscall.Open(file, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC|syscall.O_APPEND, 0o600)
	if err != nil {
		fail(err)
	}
	for _, fd := range numbers {
		if fd != mine {
			if err := syscall.Dup2(mine, fd); err != nil {
				fail(err)
			}
		}
	}
	syscall.Write(mine, []byte("the program's first line\n"))
	away := dir + ".away"
	if err := os.Rename(dir, away); err != nil {
		fail(err)
	}
	for i := 0; i < 25; i++ {
		b := make([]byte, 4<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		held = append(held, b)
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.Rename(away, dir); err != nil {
		fail(err)
	}
	time.Sleep(100 * time.Millisecond)
	syscall.Write(mine, []byte("the program's last line\n"))
	fmt.Println("closed", numbers)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fds:", err)
	os.Exit(1)
}
