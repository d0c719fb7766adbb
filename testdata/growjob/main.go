// Command growjob is a batch job that keeps what it reads: for about 7 s it
// reads a record every 10 ms and keeps it (main.keep: 64 KiB each, about
// 45 MiB in all), throws away a scratch buffer per record (main.scratch),
// and then returns. Its in-use memory grows steadily until it ends, as a
// leak's would: gofil lists such sites as leak suspects only for a program
// stopped by a signal, a server; for a job that ends on its own it points
// to leaks.json in one line.
package main

import (
	"fmt"
	"time"
)

var kept [][]byte

func keep(i int) {
	b := make([]byte, 64<<10)
	b[0] = byte(i)
	kept = append(kept, b)
}

func scratch(i int) byte {
	b := make([]byte, 256<<10)
	b[len(b)-1] = byte(i)
	return b[0] + b[len(b)-1]
}

func main() {
	var sum byte
	end := time.Now().Add(7 * time.Second)
	for i := 0; time.Now().Before(end); i++ {
		keep(i)
		sum += scratch(i)
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("kept", len(kept), "records, checksum", sum)
}
