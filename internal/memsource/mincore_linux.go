package memsource

import (
	"syscall"
	"unsafe"

	"github.com/gofil/gofil/internal/procfs"
)

// residentPages counts the pages of g that are resident, asking
// mincore(2) for up to len(vec) pages at a time.
func residentPages(g procfs.Range, page uint64, vec []byte) (uint64, bool) {
	var n uint64
	for at := g.Start; at < g.End; {
		length := g.End - at
		if most := uint64(len(vec)) * page; length > most {
			length = most
		}
		_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(at), uintptr(length), uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			return 0, false
		}
		for _, v := range vec[:(length+page-1)/page] {
			n += uint64(v & 1)
		}
		at += length
	}
	return n, true
}
