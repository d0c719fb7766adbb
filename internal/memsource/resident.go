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

// smapsMax bounds what is read of /proc/self/smaps: about 40,000
// mappings. A process with more has no division of its resident set.
const smapsMax = 16 << 20

// residentReader reads /proc/self/smaps.
type residentReader struct {
	f   *ownfd.File
	buf []byte
	exe string
	off bool // smaps cannot be read here, or could not be parsed
}

// Resident reads the resident set divided by mapping into r.Resident,
// all but its At; false if it cannot be read.
func (s *Runtime) Resident(r *peak.Memory) bool {
	rr := &s.resident
	if rr.off {
		return false
	}
	if rr.f == nil {
		f, err := ownfd.Open("/proc/self/smaps", syscall.O_RDONLY, 0)
		if err != nil {
			rr.off = true
			return false
		}
		rr.f, rr.buf = f, make([]byte, 64<<10)
		rr.exe, _ = os.Readlink("/proc/self/exe")
	}
	n := 0
	for {
		if n == len(rr.buf) {
			if len(rr.buf) >= smapsMax {
				return false
			}
			rr.buf = append(rr.buf, make([]byte, len(rr.buf))...)
		}
		m, err := rr.f.ReadAt(rr.buf[n:], int64(n))
		n += m
		if m == 0 || err != nil {
			break
		}
	}
	got, ok := procfs.Smaps(rr.buf[:n], heapAddr(), rr.exe)
	if !ok {
		rr.off = true
		return false
	}
	r.Resident = peak.Resident{At: r.Resident.At, Total: got.Total, Heap: got.Heap, Anon: got.Anon, Binary: got.Binary, Files: got.Files}
	return true
}
