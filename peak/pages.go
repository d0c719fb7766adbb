package peak

import "unsafe"

// pages is an array that grows a page at a time: growing it never copies
// what it holds, nor leaves a copy behind for the collector, and it holds
// at most a page more than it needs. The Table's arrays grow with the
// program's distinct stacks all through its run; as slices, each step of
// their growth would leave the old array as garbage in the heap at the
// next GC mark, which the tracker counts as its own.
type pages[T any] struct {
	p [][]T
	n int
}

const (
	pageBits = 12
	pageLen  = 1 << pageBits
)

func (a *pages[T]) len() int { return a.n }

// at is element i, which must be below len.
func (a *pages[T]) at(i int) *T { return &a.p[i>>pageBits][i&(pageLen-1)] }

func (a *pages[T]) get(i int) T { return a.p[i>>pageBits][i&(pageLen-1)] }

func (a *pages[T]) set(i int, v T) { a.p[i>>pageBits][i&(pageLen-1)] = v }

func (a *pages[T]) append(v T) {
	if a.n == len(a.p)*pageLen {
		a.p = append(a.p, make([]T, pageLen))
	}
	a.set(a.n, v)
	a.n++
}

// resize makes the array n elements long, all zero.
func (a *pages[T]) resize(n int) {
	var zero T
	for len(a.p)*pageLen < n {
		a.p = append(a.p, make([]T, pageLen))
	}
	for _, p := range a.p {
		for i := range p {
			p[i] = zero
		}
	}
	a.n = n
}

// grow adds zero elements up to n.
func (a *pages[T]) grow(n int) {
	var zero T
	for a.n < n {
		a.append(zero)
	}
}

// bytes is the memory the pages take.
func (a *pages[T]) bytes() uint64 {
	var v T
	return uint64(len(a.p))*pageLen*uint64(unsafe.Sizeof(v)) + uint64(cap(a.p))*uint64(unsafe.Sizeof(a.p))
}
