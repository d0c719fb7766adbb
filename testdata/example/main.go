// Command example is a small batch job whose memory peaks in the middle of
// the run: it loads records and builds an index over them, both alive at
// once, then drops them and writes a summary. It is gofil's quick-start
// example and a ground-truth program for its tests: at the peak,
//
//	main.loadRecords holds 128 MiB (32768 records of 4 KiB),
//	main.buildIndex  holds 192 MiB (192 blocks of 1 MiB),
//	main.tagRecords  holds  32 MiB (32 blocks of 1 MiB, called from loadRecords),
//
// so main.loadRecords holds 160 MiB including its callees.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

const (
	recordSize  = 4 << 10
	recordCount = 32768
	blockSize   = 1 << 20
	indexBlocks = 192
	tagBlocks   = 32
)

type dataset struct {
	records [][]byte
	tags    [][]byte
	index   [][]byte
}

func main() {
	start := time.Now()
	d := &dataset{}
	loadRecords(d)
	buildIndex(d)
	checksum := summarize(d)
	d = nil
	// The job is done with the data: collect it, so the peak is mid-run.
	runtime.GC()
	writeReport(checksum)
	fmt.Fprintf(os.Stderr, "example: done in %v\n", time.Since(start).Round(time.Millisecond))
}

func loadRecords(d *dataset) {
	d.records = make([][]byte, 0, recordCount)
	for i := 0; i < recordCount; i++ {
		r := make([]byte, recordSize)
		fill(r, byte(i))
		d.records = append(d.records, r)
	}
	tagRecords(d)
}

func tagRecords(d *dataset) {
	for i := 0; i < tagBlocks; i++ {
		b := make([]byte, blockSize)
		fill(b, byte(i))
		d.tags = append(d.tags, b)
	}
}

func buildIndex(d *dataset) {
	for i := 0; i < indexBlocks; i++ {
		b := make([]byte, blockSize)
		fill(b, byte(i))
		d.index = append(d.index, b)
	}
}

func summarize(d *dataset) byte {
	var x byte
	for _, r := range d.records {
		x ^= r[0]
	}
	for _, b := range d.index {
		x ^= b[len(b)-1]
	}
	return x
}

func writeReport(checksum byte) {
	// A little work after the peak, far below it.
	lines := make([]string, 0, 1000)
	for i := 0; i < 1000; i++ {
		lines = append(lines, fmt.Sprintf("line %d checksum %d", i, checksum))
	}
	fmt.Println("example: checksum", checksum, "lines", len(lines))
}

// fill touches every page, so the memory is resident.
func fill(b []byte, v byte) {
	for i := 0; i < len(b); i += 512 {
		b[i] = v
	}
}
