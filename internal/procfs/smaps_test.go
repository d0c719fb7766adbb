package procfs

import (
	"os"
	"testing"
	"unsafe"
)

const smapsSample = `00400000-004a5000 r-xp 00000000 fe:00 10535368                           /tmp/my prog/main
Size:                660 kB
Rss:                 660 kB
00587000-00593000 rw-p 00187000 fe:00 10535368                           /tmp/my prog/main
Rss:                  48 kB
VmFlags: rd wr mr mw me ac sd
00593000-005c9000 rw-p 00000000 00:00 0 
Rss:                 152 kB
221118000000-22111b400000 ---p 00000000 00:00 0 
Rss:                   0 kB
22111b400000-221128000000 rw-p 00000000 00:00 0 
Rss:                 688 kB
221128000000-221130000000 rw-p 00000000 00:00 0 
Rss:                1024 kB
221130001000-221130002000 rw-p 00000000 00:00 0 
Rss:                   4 kB
7fae098fc000-7fae09b00000 rw-p 00000000 00:00 0                          [heap]
Rss:                 600 kB
7fae098fd000-7fae09b00000 r--p 00000000 fe:00 77                         /usr/lib/libc.so.6
Rss:                 100 kB
7fae505d4000-7fae505d6000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   8 kB
7ffda937f000-7ffda93a0000 rw-p 00000000 00:00 0                          [stack]
Rss:                  16 kB
`

func TestSmaps(t *testing.T) {
	r, ok := Smaps([]byte(smapsSample), 0x22111b400010, "/tmp/my prog/main")
	if !ok {
		t.Fatal("not parsed")
	}
	want := Resident{
		Total:  (660 + 48 + 152 + 688 + 1024 + 4 + 600 + 100 + 8 + 16) << 10,
		Heap:   (688 + 1024) << 10, // the arena and the one that touches it, not the one after a gap
		Anon:   (4 + 600 + 16) << 10,
		Binary: (660 + 48 + 152) << 10,
		Files:  (100 + 8) << 10,
	}
	if r != want {
		t.Errorf("Smaps = %+v, want %+v", r, want)
	}
	if _, ok := Smaps([]byte(smapsSample), 0x1000, "/x"); ok {
		t.Error("no mapping holds the address, yet ok")
	}
	if _, ok := Smaps([]byte("Rss: 4 kB\n"), 0x1000, "/x"); ok {
		t.Error("a value before any mapping, yet ok")
	}
}

var heapObject *[64]byte

// TestSmapsOfThisProcess reads this test's own smaps: its parts add up to
// its total, which is its resident set from statm within 2%, and the heap
// holds at least a large slice it has just written.
func TestSmapsOfThisProcess(t *testing.T) {
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = 1
	}
	heapObject = new([64]byte) // at run time, in the heap
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	r, ok := Smaps(b, uint64(uintptr(unsafe.Pointer(heapObject))), exe)
	if !ok {
		t.Fatal("own smaps not parsed")
	}
	st, _ := os.ReadFile("/proc/self/statm")
	resident, _, _ := Statm(st)
	rss := resident * uint64(os.Getpagesize())
	if r.Heap+r.Anon+r.Binary+r.Files != r.Total {
		t.Errorf("parts %+v do not add up to the total", r)
	}
	if d := int64(r.Total) - int64(rss); d > int64(rss)/50 || -d > int64(rss)/50 {
		t.Errorf("smaps total %d, statm %d", r.Total, rss)
	}
	if r.Heap < 64<<20 || r.Binary == 0 {
		t.Errorf("heap %d (64 MiB written), binary %d", r.Heap, r.Binary)
	}
	_ = big[len(big)-1]
}
