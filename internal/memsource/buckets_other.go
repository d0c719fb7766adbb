//go:build !go1.23 || !gofil_linkname

package memsource

// Before Go 1.23 the runtime's buckets are reached only through
// runtime.MemProfile, which copies them all at every snapshot.
const bucketsSupported = false

type memRecord struct {
	AllocBytes, FreeBytes     int64
	AllocObjects, FreeObjects int64
	Stack                     []uintptr
}

func memProfileInternal(size int, inuseZero bool, copyFn func(memRecord)) (n int, ok bool) {
	return 0, false
}

func bucketID(r *memRecord) uintptr { return 0 }
