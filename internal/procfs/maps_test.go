package procfs

import (
	"os"
	"reflect"
	"testing"
	"unsafe"
)

const mapsSample = `00400000-004a5000 r-xp 00000000 fe:00 10535368                           /tmp/my prog/main
00587000-00593000 rw-p 00187000 fe:00 10535368                           /tmp/my prog/main
00593000-005c9000 rw-p 00000000 00:00 0 
221118000000-22111b400000 ---p 00000000 00:00 0 
22111b400000-221128000000 rw-p 00000000 00:00 0 
221128000000-221130000000 rw-p 00000000 00:00 0                          [anon: Go: heap]
221130000000-221140000000 ---p 00000000 00:00 0 
221140001000-221140002000 rw-p 00000000 00:00 0 
7fae098fc000-7fae09b00000 rw-p 00000000 00:00 0                          [heap]
7fae098fd000-7fae09b00000 r--p 00000000 fe:00 77                         /usr/lib/libc.so.6
7ffda937f000-7ffda93a0000 rw-p 00000000 00:00 0                          [stack]
`

func TestHeapRanges(t *testing.T) {
	rs, ok := HeapRanges([]byte(mapsSample), 0x22111b400010, nil)
	if !ok {
		t.Fatal("not parsed")
	}
	// The arena and the named one that touches it; not the reserve
	// (no access) nor the mapping after a gap.
	want := []Range{{0x22111b400000, 0x221128000000}, {0x221128000000, 0x221130000000}}
	if !reflect.DeepEqual(rs, want) {
		t.Errorf("HeapRanges = %x, want %x", rs, want)
	}
	if _, ok := HeapRanges([]byte(mapsSample), 0x1000, nil); ok {
		t.Error("no mapping holds the address, yet ok")
	}
	if _, ok := HeapRanges([]byte(mapsSample), 0x7fae098fc010, nil); ok {
		t.Error("the brk heap is not the Go heap, yet ok")
	}
	if _, ok := HeapRanges([]byte("Rss: 4 kB\n"), 0x1000, nil); ok {
		t.Error("not maps, yet ok")
	}
}

// TestHeapRangesReusesItsSlice: given the ranges of the last call,
// HeapRanges allocates nothing (the tracker divides the resident set
// hundreds of times in a growing program, and what it allocates is garbage
// in the program's heap), and a bad line after the heap's mappings still
// makes the whole unreadable.
func TestHeapRangesReusesItsSlice(t *testing.T) {
	b := []byte(mapsSample)
	rs, _ := HeapRanges(b, 0x22111b400010, nil)
	if n := testing.AllocsPerRun(100, func() { rs, _ = HeapRanges(b, 0x22111b400010, rs) }); n != 0 {
		t.Errorf("%v allocations a call, want none", n)
	}
	if len(rs) != 2 {
		t.Errorf("ranges %x, want the two of TestHeapRanges", rs)
	}
	if _, ok := HeapRanges(append(append([]byte(nil), b...), "not a mapping\n"...), 0x22111b400010, rs); ok {
		t.Error("a bad last line, yet ok")
	}
}

var heapObject *[64]byte

// TestHeapRangesOfThisProcess: this test's own heap object lies in the
// ranges found, and so does a large slice made after it.
func TestHeapRangesOfThisProcess(t *testing.T) {
	heapObject = new([64]byte) // at run time, in the heap
	big := make([]byte, 64<<20)
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip(err)
	}
	rs, ok := HeapRanges(b, uint64(uintptr(unsafe.Pointer(heapObject))), nil)
	if !ok {
		t.Fatal("own maps not parsed")
	}
	in := func(p uintptr) bool {
		for _, r := range rs {
			if r.Start <= uint64(p) && uint64(p) < r.End {
				return true
			}
		}
		return false
	}
	if !in(uintptr(unsafe.Pointer(&big[0]))) || !in(uintptr(unsafe.Pointer(&big[len(big)-1]))) {
		t.Errorf("a 64 MiB slice is not in the heap's ranges %x", rs)
	}
}
