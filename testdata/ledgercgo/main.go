// Command ledgercgo holds memory the Go runtime never sees: main.cAlloc
// allocates 192 MiB with C's malloc and writes all of it, beside 64 MiB in
// the Go heap, both to the end. A block that large comes from its own
// mapping (glibc maps any block over 128 KiB), so the 192 MiB are
// resident, anonymous and outside the Go runtime: gofil's ledger counts
// them in outside_go.
package main

/*
#include <stdlib.h>
#include <string.h>

static void *fill(size_t n) {
	void *p = malloc(n);
	if (p != NULL) {
		memset(p, 1, n);
	}
	return p;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

const cBytes = 192 << 20

func main() {
	p := cAlloc(cBytes)
	heap := goAlloc(64 << 20)
	fmt.Printf("ledgercgo: %d bytes from C, %d in the Go heap\n", cBytes, len(heap))
	runtime.KeepAlive(heap)
	_ = p // held to the end: the process's exit frees it
}

func cAlloc(n int) unsafe.Pointer {
	p := C.fill(C.size_t(n))
	if p == nil {
		panic("malloc failed")
	}
	return p
}

func goAlloc(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}
