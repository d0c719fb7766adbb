// Command gcoff turns the collector off itself (debug.SetGCPercent(-1), as
// batch jobs tuned for speed do), builds an index of strings in a map and a
// log buffer grown by append, drops both and collects once at the end. With
// the collector off nothing is freed before that GC, so at its mark every
// byte each function allocated, garbage of map and slice growth included,
// is still in the heap: that mark is the peak. The truth is measured by the
// program itself: HeapAlloc (bytes allocated and not freed) before and after
// each call, exact while nothing is freed. It writes it as JSON to the file
// TRUTH_OUT names, if set.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"example.com/gofiltest/truth"
)

func main() {
	debug.SetGCPercent(-1)
	var t truth.Truth
	index := measure(&t, "main.buildIndex", func() interface{} { return buildIndex(1_500_000) })
	log := measure(&t, "main.appendLog", func() interface{} { return appendLog(3_000_000) })
	fmt.Println("gcoff:", len(index.(map[string][]string)), len(log.([]byte)))
	index, log = nil, nil
	runtime.GC()
	if err := t.Write(); err != nil {
		fmt.Fprintln(os.Stderr, "gcoff:", err)
		os.Exit(1)
	}
}

// measure runs f and records the heap it grew by, exact with the collector
// off; the caller keeps what f returns.
func measure(t *truth.Truth, name string, f func() interface{}) interface{} {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v := f()
	runtime.ReadMemStats(&after)
	if t.Functions == nil {
		t.Functions = map[string]int64{}
	}
	grew := int64(after.HeapAlloc - before.HeapAlloc)
	t.Functions[name] = grew
	t.Total += grew
	return v
}

// buildIndex maps keys to the words of generated lines: strings of many
// lengths, slices grown by append and a map that grows as it fills.
func buildIndex(n int) map[string][]string {
	idx := make(map[string][]string)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.Reset()
		for w := 0; w <= i%7; w++ {
			b.WriteString("word")
			b.WriteString(strconv.Itoa(i * (w + 1)))
			b.WriteByte(' ')
		}
		key := "k" + strconv.Itoa(i%200_000)
		idx[key] = append(idx[key], b.String())
	}
	return idx
}

// appendLog appends formatted records to one buffer, which append doubles
// (then grows by a quarter) as it fills: every old array stays allocated.
func appendLog(n int) []byte {
	var buf []byte
	for i := 0; i < n; i++ {
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, " record of the job\n"...)
	}
	return buf
}
