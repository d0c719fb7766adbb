package memtests

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// The sizes below are ones the allocator gives exactly, so that the heap
// holds what the test asks for: 4096·k for k = 1..8 are size classes of
// their own (4096, 8192, 12288, 16384, 20480, 24576, 28672, 32768 are in
// runtime/sizeclasses.go), and an object above 32 KiB is rounded up to
// whole 8 KiB pages, which 8192·k is already. Byte slices hold no
// pointers and so get no malloc header.
const (
	// HoldBytes is what TestHold holds: 256 × (4096·(1+…+8)) =
	// 256 × 147,456 = 36 MiB in size classes, and 64 × (8192·(5+…+12)) =
	// 64 × 557,056 = 34 MiB in large objects: 70 MiB.
	HoldBytes = 70 << 20
	// LeakBytes is what TestLeak leaves in a package-level slice.
	LeakBytes = 16 << 20
	// GoroutineBytes is what each of TestGoroutines' 8 goroutines holds.
	GoroutineBytes = 4 << 20
	// GrowBytes is what TestGrow holds, plus MEMTESTS_GROW_KIB KiB.
	GrowBytes = 8 << 20
)

var sink [][]byte

func TestHold(t *testing.T) {
	var held [][]byte
	for r := 0; r < 256; r++ {
		for k := 1; k <= 8; k++ {
			held = append(held, make([]byte, 4096*k))
		}
	}
	for r := 0; r < 64; r++ {
		for k := 5; k <= 12; k++ {
			held = append(held, make([]byte, 8192*k))
		}
	}
	runtime.GC() // a mark that finds all of it live
	runtime.KeepAlive(held)
}

// leaked is what TestLeak leaves behind.
var leaked [][]byte

func TestLeak(t *testing.T) {
	for i := 0; i < 64; i++ {
		leaked = append(leaked, make([]byte, LeakBytes/64)) // 256 KiB: 32 pages
	}
}

func TestChurn(t *testing.T) {
	for i := 0; i < 200; i++ {
		sink = append(sink[:0], make([]byte, 1<<20))
	}
	sink = nil
}

func TestGoroutines(t *testing.T) {
	const n = 8
	var ready sync.WaitGroup
	release := make(chan struct{})
	var done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			b := make([]byte, GoroutineBytes)
			ready.Done()
			<-release
			runtime.KeepAlive(b)
		}()
	}
	ready.Wait()
	runtime.GC() // a mark while every goroutine holds its part
	close(release)
	done.Wait()
}

func TestGrow(t *testing.T) {
	kib, _ := strconv.Atoi(os.Getenv("MEMTESTS_GROW_KIB"))
	b := make([]byte, GrowBytes+kib<<10)
	runtime.GC()
	runtime.KeepAlive(b)
}

func TestFail(t *testing.T) {
	if os.Getenv("MEMTESTS_FAIL") == "1" {
		t.Fatal("failing as asked")
	}
}

func TestCrash(t *testing.T) {
	if os.Getenv("MEMTESTS_CRASH") == "1" {
		done := make(chan struct{})
		go func() { panic("crashing as asked") }()
		<-done
	}
}

func TestHang(t *testing.T) {
	if os.Getenv("MEMTESTS_HANG") == "1" {
		select {} // until -timeout ends the process
	}
}
