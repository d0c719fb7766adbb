// Command spawnchild runs a copy of itself as a child process that holds
// 200 MiB, waits for it, and holds only 16 MiB itself: the program's own
// peak RSS is about 16 MiB plus the runtime's, its child's about 200 MiB.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		fmt.Println("child:", hold(200<<20))
		return
	}
	cmd := exec.Command(os.Args[0], "child")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "spawnchild:", err)
		os.Exit(1)
	}
	fmt.Println("parent:", hold(16<<20))
}

// hold allocates n bytes, touches every page so they are resident, and
// returns a checksum.
func hold(n int) int {
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = byte(i)
	}
	sum := 0
	for i := 0; i < len(b); i += 4096 {
		sum += int(b[i])
	}
	runtime.KeepAlive(b)
	return sum
}
