// Command livegarbage builds an index it keeps (main.keepIndex: about
// 64 MiB of records and byte slices of many sizes, and a map of them), then
// decodes a batch into scratch buffers it drops (main.decodeBatch: about
// 64 MiB of buffers of 1..64 KiB and a map of them, all unreachable once it
// returns), and calls runtime.GC. The program sets GOGC to 400 itself, so
// no GC runs while the batch is decoded: at that GC's mark the heap holds
// the index, live, and the batch, garbage. It is the peak, and the heap is
// half as large once the GC has swept.
//
// The truth is measured by the program: the index's live bytes by the live
// heap after runtime.GC before and after keepIndex; the batch's garbage by
// HeapAlloc, which counts allocated bytes until the sweep frees them,
// before and after decodeBatch, with no GC between them (NumGC is checked).
// With TRUTH_OUT set it writes its truth there.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"example.com/gofiltest/truth"
)

type record struct {
	id      int
	name    string
	payload []byte
	tags    []string
}

var index map[int]*record

func main() {
	debug.SetGCPercent(400)
	var t truth.Truth
	before := truth.LiveHeap()
	index = keepIndex(40000)
	live := t.Add("main.keepIndex", before)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore, gcs := ms.HeapAlloc, ms.NumGC
	sum := decodeBatch(2000)
	runtime.ReadMemStats(&ms)
	if ms.NumGC != gcs {
		fmt.Fprintln(os.Stderr, "livegarbage: a GC ran while the batch was decoded; the truth would not hold")
		os.Exit(1)
	}
	t.Garbage = map[string]int64{"main.decodeBatch": int64(ms.HeapAlloc - allocBefore)}
	runtime.GC() // the peak: the index live, the batch garbage
	t.Total = int64(live) + t.Garbage["main.decodeBatch"]
	fmt.Println("records", len(index), "batch checksum", sum)
	runtime.KeepAlive(index)
	if err := t.Write(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// keepIndex makes n records, each with a payload of 200..3000 bytes and a
// few tags, indexed by id: about 64 MiB, kept to the end.
func keepIndex(n int) map[int]*record {
	m := make(map[int]*record, n)
	for i := 0; i < n; i++ {
		r := &record{id: i, name: fmt.Sprintf("record-%06d", i)}
		r.payload = make([]byte, 200+(i*7919)%2800)
		for j := range r.payload {
			r.payload[j] = byte(i + j)
		}
		for k := 0; k < 1+i%4; k++ {
			r.tags = append(r.tags, fmt.Sprintf("t%d", (i+k)%97))
		}
		m[i] = r
	}
	return m
}

// decodeBatch decodes n entries into buffers of 1..64 KiB, keyed in a map,
// and returns their checksum: everything it allocated is garbage once it
// returns.
func decodeBatch(n int) byte {
	bufs := make(map[int][]byte, n)
	var sum byte
	for i := 0; i < n; i++ {
		b := make([]byte, 1024+(i*104729)%(63<<10))
		for j := 0; j < len(b); j += 512 {
			b[j] = byte(i)
		}
		bufs[i] = b
		sum += b[0]
	}
	return sum
}
