package memsource

import (
	"os"
	"syscall"
	"unsafe"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/procfs"
	"github.com/gofil/gofil/peak"
)

// heapObject is an object allocated in the Go heap at run time (a
// package variable's initial value may be placed in the binary instead):
// its address finds the heap's arenas among the process's mappings.
var heapObject *[64]byte

func heapAddr() uint64 {
	if heapObject == nil {
		heapObject = new([64]byte)
	}
	return uint64(uintptr(unsafe.Pointer(heapObject)))
}

// mapsMax bounds what is read of /proc/self/maps: about 200,000
// mappings. A process with more has no division of its resident set.
const mapsMax = 16 << 20

// residentReader divides the resident set: the Go heap's pages by
// mincore(2) over its arenas, the rest by /proc/self/statm's counts.
// /proc/self/smaps would say as much of every mapping, but it costs about
// 15 ms per GiB resident, mincore about 0.35 ms per GiB mapped.
type residentReader struct {
	maps *ownfd.File
	buf  []byte
	vec  []byte // mincore's answer for up to len(vec) pages
	// ranges is the heap's ranges as last found, kept for the next.
	ranges []procfs.Range
	off    bool // the mappings cannot be read here, or could not be parsed
}

// Resident reads the resident set divided by kind into r.Resident,
// all but its At; false if it cannot be read.
func (s *Runtime) Resident(r *peak.Memory) bool {
	rr := &s.resident
	if rr.off || s.statm == nil {
		return false
	}
	if rr.maps == nil {
		f, err := ownfd.Open("/proc/self/maps", syscall.O_RDONLY, 0)
		if err != nil {
			rr.off = true
			return false
		}
		// A Go program's maps is a few KiB; the buffer grows for more. 16
		// KiB of mincore's answer covers 64 MiB of heap a call. Both are
		// the tracker's heap in every program, so they start small.
		rr.maps, rr.buf, rr.vec = f, make([]byte, 8<<10), make([]byte, 16<<10)
	}
	n, ok := rr.readMaps()
	if !ok {
		return false
	}
	ranges, ok := procfs.HeapRanges(rr.buf[:n], heapAddr(), rr.ranges)
	rr.ranges = ranges
	if !ok {
		rr.off = true
		return false
	}
	page := uint64(os.Getpagesize())
	var heap uint64
	for _, g := range ranges {
		pages, ok := residentPages(g, page, rr.vec)
		if !ok {
			rr.off = true
			return false
		}
		heap += pages * page
	}
	rss, anon := s.readRSS()
	if rss == 0 {
		return false
	}
	res := peak.Resident{At: r.Resident.At, Total: rss, Heap: heap, Files: rss - anon}
	if anon > heap {
		res.Anon = anon - heap
	}
	r.Resident = res
	return true
}

// readMaps reads /proc/self/maps into rr.buf, growing it up to mapsMax.
func (rr *residentReader) readMaps() (int, bool) {
	n := 0
	for {
		if n == len(rr.buf) {
			if len(rr.buf) >= mapsMax {
				return 0, false
			}
			rr.buf = append(rr.buf, make([]byte, len(rr.buf))...)
		}
		m, err := rr.maps.ReadAt(rr.buf[n:], int64(n))
		n += m
		if m == 0 || err != nil {
			return n, n > 0
		}
	}
}
