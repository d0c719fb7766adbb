// Package mprofsim simulates how the Go runtime publishes its heap profile
// (src/runtime/mprof.go), for the tests of the code that reads it: peak,
// which pairs the snapshots, and tracker, which takes them. A simulated
// program is a list of objects, each made between two marks and found
// unreachable at a later one; or, in Timed, a random program run step by
// step under a simulated runtime, for randomized tests.
package mprofsim

import "runtime"

// Object is one allocation: made after mark Alloc−1 and before mark Alloc,
// found unreachable at mark Dies (and freed by its sweep), or never if
// Dies is 0.
type Object struct {
	Stack uintptr
	Size  int64
	Alloc uint32
	Dies  uint32
}

// Published is runtime.MemProfile's content after GC n and before GC n+1:
// the allocations made before mark n−1 and the frees of the sweeps up to
// n−1, one record per (stack, size) as the runtime keeps them. With post,
// after a runtime.GC's early publication (mProf_PostSweep): the
// allocations before mark n and the frees up to sweep n.
func Published(objs []Object, n uint32, post bool) []runtime.MemProfileRecord {
	if n == 0 {
		return nil
	}
	limit := n - 1
	if post {
		limit = n
	}
	type key struct {
		stack uintptr
		size  int64
	}
	recs := map[key]*runtime.MemProfileRecord{}
	var order []key
	for _, o := range objs {
		if o.Alloc > limit {
			continue
		}
		k := key{o.Stack, o.Size}
		r := recs[k]
		if r == nil {
			r = &runtime.MemProfileRecord{}
			r.Stack0[0] = o.Stack
			recs[k] = r
			order = append(order, k)
		}
		r.AllocObjects++
		r.AllocBytes += o.Size
		if o.Dies != 0 && o.Dies <= limit {
			r.FreeObjects++
			r.FreeBytes += o.Size
		}
	}
	out := make([]runtime.MemProfileRecord, 0, len(order))
	for _, k := range order {
		out = append(out, *recs[k])
	}
	return out
}

// HeapAt is the truth: bytes per stack allocated before mark n and not
// freed by a sweep before it.
func HeapAt(objs []Object, n uint32) map[uintptr]int64 {
	h := map[uintptr]int64{}
	for _, o := range objs {
		if o.Alloc <= n && (o.Dies == 0 || o.Dies >= n) {
			h[o.Stack] += o.Size
		}
	}
	return h
}

// Total is the sum of a heap per stack.
func Total(h map[uintptr]int64) int64 {
	var t int64
	for _, v := range h {
		t += v
	}
	return t
}

// Exact is the runtime's exact reading just before mark n, every sweep so
// far over: what mark n−1 found live, the bytes freed by the sweeps up to
// n−1, and the bytes allocated by mark n.
func Exact(objs []Object, n uint32) (live, frees, allocs uint64) {
	for _, o := range objs {
		if n >= 1 && o.Alloc <= n-1 && (o.Dies == 0 || o.Dies > n-1) {
			live += uint64(o.Size)
		}
		if n >= 1 && o.Dies != 0 && o.Dies <= n-1 {
			frees += uint64(o.Size)
		}
		if o.Alloc <= n {
			allocs += uint64(o.Size)
		}
	}
	return live, frees, allocs
}

// AfterMark is the runtime's exact reading right after mark n, before its
// sweep freed anything: what mark n found live, the bytes freed by the
// sweeps up to n−1, and the bytes allocated by mark n.
func AfterMark(objs []Object, n uint32) (live, frees, allocs uint64) {
	for _, o := range objs {
		if o.Alloc <= n && (o.Dies == 0 || o.Dies > n) {
			live += uint64(o.Size)
		}
		if n >= 1 && o.Dies != 0 && o.Dies <= n-1 {
			frees += uint64(o.Size)
		}
		if o.Alloc <= n {
			allocs += uint64(o.Size)
		}
	}
	return live, frees, allocs
}
