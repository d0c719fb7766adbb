//go:build go1.23 && gofil_linkname

package memsource

import "unsafe"

// This file reads the runtime's heap profile without runtime.MemProfile,
// which needs a 288-byte record per (stack, size) bucket copied out at
// every snapshot: tens of megabytes held in the program's heap for a
// program with a hundred thousand buckets. It builds with
// -ldflags=-checklinkname=0 and the tag gofil_linkname, which `gofil run`
// passes (tracker/runtime_go124.go); buckets_test.go
// fails loudly when a Go release changes what it relies on.

// bucketsSupported says that memProfileInternal reaches the runtime's
// buckets.
const bucketsSupported = true

// memRecord mirrors internal/profilerecord.MemProfileRecord (Go 1.23+):
// what runtime.memProfileInternal hands its callback for each bucket.
// Stack is the bucket's own copy of its stack, which the runtime allocates
// once, off the heap, and never changes or frees (newBucket and
// bucket.stk in src/runtime/mprof.go).
type memRecord struct {
	AllocBytes, FreeBytes     int64
	AllocObjects, FreeObjects int64
	Stack                     []uintptr
}

// memProfileInternal is the loop behind runtime.MemProfile (Go 1.23+,
// src/runtime/mprof.go): when there are at most size buckets, it calls
// copyFn for every one, newest first (stkbucket puts a new bucket at the
// head of mbuckets, and buckets are never removed), while it holds the
// profile's lock; it returns their number. copyFn must not allocate: an
// allocation may take the profile's locks.
//
//go:linkname memProfileInternal runtime.memProfileInternal
func memProfileInternal(size int, inuseZero bool, copyFn func(memRecord)) (n int, ok bool)

// bucketID tells r's bucket apart from every other: the address of its
// stack, which is in the bucket.
func bucketID(r *memRecord) uintptr {
	return *(*uintptr)(unsafe.Pointer(&r.Stack))
}
