// Package peak turns a series of heap-profile snapshots, one per GC cycle,
// into the heap at each GC's mark termination, attributed per allocation
// stack, and keeps the largest: the peak.
//
// It runs inside the profiled program, so it imports only the standard
// library and keeps to the Go 1.19 language.
//
// # How the runtime publishes the heap profile
//
// runtime.MemProfile returns, per allocation stack, cumulative counts of
// sampled allocations and frees. They are published per GC cycle (see
// src/runtime/mprof.go): a snapshot S_N taken after GC N and before GC N+1
// holds the allocations made before mark termination N−1 and the frees made
// by the sweeps up to cycle N−1. So
//
//	heap at mark N, per stack = S_{N+1}.alloc − S_N.free
//
// while what GC N found live is S_{N+1}.alloc − S_{N+1}.free.
//
// # Where the heap is largest
//
// Memory is freed only by sweeping, but sweeping is lazy: the garbage of
// cycle N−1 may not all be swept until GC N starts. Just before it, the heap
// can therefore hold more than at mark N, and a program that churns garbage
// spends most of each cycle in that state. The heap at mark N is a floor.
// What the sweep before mark N freed, per stack, is S_N.free − S_{N−1}.free;
// given the runtime's own heap figure read before the mark (Snapshot.Before),
// the Accountant adds the same share of that garbage to every stack, enough
// to meet the runtime's figure and never more than all of it (Peak.Unswept).
//
// # Snapshots that do not follow one another
//
// A GC the program starts itself (runtime.GC) publishes its sweep early;
// the Accountant detects it from Snapshot.Forced and from whether the next
// snapshot, or a second one of the same cycle, differs. Snapshots whose
// cycle numbers are not adjacent are paired as an upper bound, flagged
// Approximate.
//
// Usage:
//
//	var a peak.Accountant
//	a.Rate = 64 << 10
//	for snap := range snapshots { // one per GC cycle, in order
//		if a.Add(snap) {
//			write(a.Peak())
//		}
//	}
package peak

import (
	"math"
	"runtime"
	"sort"
	"time"
)

// Snapshot is one consistent copy of runtime.MemProfile, taken while the GC
// count was Cycle.
type Snapshot struct {
	// Cycle is the number of completed GC cycles when the snapshot was taken.
	Cycle uint32
	// Seen is when the tracker first saw the GC count reach Cycle: the time of
	// mark termination Cycle, to within the tracker's polling interval.
	Seen time.Duration
	// Before is the reading with the largest exact heap taken while the GC
	// count was Cycle−1, that is, just before mark termination Cycle. Zero
	// if unknown.
	Before Memory
	// Forced says that GC Cycle was started by the program (runtime.GC or
	// debug.FreeOSMemory). Such a GC publishes its sweep's frees as soon as it
	// returns (mProf_PostSweep), usually before the tracker's snapshot, which
	// then holds the allocations before mark Cycle and the frees of its
	// sweep. The pair ending at it is taken as the heap at mark Cycle (it
	// counts in addition what GC Cycle−1 freed). The next snapshot is then
	// identical, and the pair after it, the live heap only, is skipped; when
	// it is not identical the forced snapshot was regular and the next pair
	// holds mark Cycle exactly.
	Forced bool
	// Records is the MemProfile content. The Accountant keeps no reference
	// to it after Add returns.
	Records []runtime.MemProfileRecord
}

// Memory is one reading of the process's memory.
type Memory struct {
	At time.Duration
	// Heap is the runtime's exact figure for bytes in heap objects
	// (runtime/metrics /memory/classes/heap/objects:bytes).
	Heap uint64
	// RSS and RSSAnon are the resident set and its anonymous part.
	RSS, RSSAnon uint64
	// GoMapped and GoReleased are the runtime's /memory/classes/total and
	// /memory/classes/heap/released.
	GoMapped, GoReleased uint64
}

// Stack is one allocation stack's share of the heap at a mark termination.
type Stack struct {
	// PCs are return addresses, leaf first, as runtime.MemProfileRecord.Stack
	// returns them.
	PCs []uintptr
	// Objects and Bytes are the heap at the mark, unbiased for sampling.
	Objects, Bytes int64
	// LiveObjects and LiveBytes are what that GC found still reachable.
	LiveObjects, LiveBytes int64
}

// Truncated reports whether the stack filled the runtime's 32-frame record
// and so may have lost its outermost frames.
func (s Stack) Truncated() bool {
	return len(s.PCs) >= len(runtime.MemProfileRecord{}.Stack0)
}

// Peak is the heap at one mark termination.
type Peak struct {
	// Cycle is the GC whose mark termination this is.
	Cycle uint32
	// At is when it happened, relative to the tracker's start.
	At time.Duration
	// Bytes and Objects are the sampled attribution's totals.
	Bytes, Objects int64
	// LiveBytes is what that GC found reachable (sampled attribution).
	LiveBytes int64
	// Before is the reading with the largest exact heap just before the
	// mark: the runtime's own figures for the same moment.
	Before Memory
	// Unswept is the share, 0 to 1, of the previous cycle's garbage that the
	// runtime had not swept yet at the heap's largest reading before the
	// mark, and that Bytes therefore includes.
	Unswept float64
	// Approximate says the pair spanned GC cycles the tracker did not see:
	// the figures are an upper bound.
	Approximate bool
	// Stacks are sorted by Bytes, largest first.
	Stacks []Stack
}

// Accountant pairs adjacent snapshots and keeps the largest heap seen. It is
// not safe for concurrent use: one goroutine owns it.
type Accountant struct {
	// Rate is the sampling rate the snapshots were taken with
	// (runtime.MemProfileRate), used to unbias them.
	Rate int

	prev     map[[32]uintptr]runtime.MemProfileRecord
	prevSnap Snapshot
	// older is the snapshot before prev, of the cycle before; nil if none.
	older    map[[32]uintptr]runtime.MemProfileRecord
	prevSums sums
	havePrev bool
	peak     Peak
	havePeak bool
	last     Peak
	haveLast bool
	// afterForced says the previous snapshot followed a forced GC.
	afterForced bool

	// Trace, if set, is called with every heap accounted.
	Trace func(Peak)

	// Paired counts the heaps accounted; Gaps counts the snapshots whose
	// predecessor was not from the cycle before (their pair is approximate);
	// Forced counts the GCs the program started itself.
	Paired, Gaps, Forced int
}

// Reset forgets the previous snapshot, so the next one starts a new pairing
// chain. The peak found so far is kept. Use it after a snapshot that is not
// the regular per-cycle state (for example right after runtime.GC, which
// publishes the sweep's frees early).
func (a *Accountant) Reset() {
	a.havePrev = false
	a.older = nil
	a.afterForced = false
	a.prev = nil
}

func (a *Accountant) offer(p Peak) bool {
	if a.Trace != nil {
		a.Trace(p)
	}
	a.Paired++
	a.last, a.haveLast = p, true
	if a.havePeak && p.Bytes <= a.peak.Bytes {
		return false
	}
	a.peak = p
	a.havePeak = true
	return true
}

// sums are a snapshot's totals, enough to tell two snapshots apart.
type sums struct{ allocs, frees, allocBytes, freeBytes int64 }

func totals(rs []runtime.MemProfileRecord) sums {
	var s sums
	for _, r := range rs {
		s.allocs += r.AllocObjects
		s.frees += r.FreeObjects
		s.allocBytes += r.AllocBytes
		s.freeBytes += r.FreeBytes
	}
	return s
}

// Add feeds the next snapshot. It returns true when the pairing with the
// previous snapshot produced a new peak.
func (a *Accountant) Add(s Snapshot) bool {
	cur := make(map[[32]uintptr]runtime.MemProfileRecord, len(s.Records))
	for _, r := range s.Records {
		cur[r.Stack0] = r
	}
	sum := totals(s.Records)
	if a.havePrev && s.Cycle == a.prevSnap.Cycle {
		return a.again(s, cur, sum)
	}
	adjacent := a.havePrev && s.Cycle == a.prevSnap.Cycle+1
	newPeak := false
	skip := false
	if s.Forced && (!a.havePrev || s.Cycle != a.prevSnap.Cycle) {
		a.Forced++
	}
	if a.afterForced && adjacent && sum == a.prevSums {
		// The forced snapshot was published early, so the pair after it
		// holds only the live heap.
		skip = true
	}
	switch {
	case adjacent && !skip:
		var p Peak
		if s.Forced {
			p = a.pair(a.prev, cur)
		} else {
			p = a.pairUnswept(a.prev, cur, a.older, a.prevSnap.Before.Heap)
		}
		p.Cycle = a.prevSnap.Cycle
		p.At = a.prevSnap.Seen
		p.Before = a.prevSnap.Before
		if s.Forced {
			// Most likely published early: the pair ends at the forced
			// mark. If it was not, the next pair holds that mark exactly.
			p.Cycle = s.Cycle
			p.At = s.Seen
			p.Before = s.Before
		}
		if a.offer(p) {
			newPeak = true
		}
	case a.havePrev && s.Cycle > a.prevSnap.Cycle && !adjacent:
		// Cycles were missed: the pair spans several marks. It holds every
		// allocation up to the last of them and only the frees before the
		// first, so it bounds the heap at each of them from above, counting
		// also what the missed GCs freed.
		a.Gaps++
		p := a.pair(a.prev, cur)
		p.Cycle = s.Cycle - 1
		if s.Forced {
			p.Cycle = s.Cycle
		}
		p.At = s.Seen
		p.Before = s.Before
		p.Approximate = true
		if a.offer(p) {
			newPeak = true
		}
	}
	// An early-published snapshot holds one sweep's frees too many to
	// say what the next pair's sweep freed.
	a.older = nil
	if adjacent && !s.Forced && !a.afterForced {
		a.older = a.prev
	}
	a.afterForced = s.Forced
	a.prevSums = sum
	a.prev = cur
	a.prevSnap = s
	a.prevSnap.Records = nil
	a.havePrev = true
	return newPeak
}

// again takes a second snapshot of the cycle of the previous one. After a
// forced GC, a second snapshot that differs from the first was taken after
// the early publication and the first before it: the first holds the frees
// up to the sweep before the forced mark, the second the allocations up to
// the mark, and their pair is the heap at the forced mark exactly.
func (a *Accountant) again(s Snapshot, cur map[[32]uintptr]runtime.MemProfileRecord, sum sums) bool {
	newPeak := false
	a.older = nil
	if s.Forced && sum != a.prevSums {
		p := a.pair(a.prev, cur)
		p.Cycle = s.Cycle
		p.At = a.prevSnap.Seen
		p.Before = a.prevSnap.Before
		newPeak = a.offer(p)
		a.afterForced = true
		a.prevSums = sum
	}
	a.prev = cur
	return newPeak
}

// Last returns the most recently accounted heap and whether there is one.
func (a *Accountant) Last() (Peak, bool) {
	return a.last, a.haveLast
}

// Peak returns the largest heap accounted so far and whether there is one.
func (a *Accountant) Peak() (Peak, bool) {
	return a.peak, a.havePeak
}

// pair computes the heap at the mark termination between base and top.
func (a *Accountant) pair(base, top map[[32]uintptr]runtime.MemProfileRecord) Peak {
	return a.pairUnswept(base, top, nil, 0)
}

// pairUnswept computes the heap at the mark between base and top. When older
// (the snapshot before base) is given and exact, the runtime's own heap
// figure read before the mark, exceeds the pair's total, the difference is
// garbage the runtime had not swept yet when it was read: the sweep before
// the mark freed it (base.free − older.free per stack) only later. That
// garbage occupied memory at that moment, so each stack is given the same
// share of what the sweep freed from it, enough to meet the runtime's
// figure and no more than all of it.
func (a *Accountant) pairUnswept(base, top, older map[[32]uintptr]runtime.MemProfileRecord, exact uint64) Peak {
	var p Peak
	var garbage [][2]int64 // per stack in p.Stacks: objects, bytes swept before the mark
	var garbageBytes int64
	for key, t := range top {
		b := base[key] // zero when the stack first appears in top
		objs := t.AllocObjects - b.FreeObjects
		bytes := t.AllocBytes - b.FreeBytes
		var g [2]int64
		if older != nil {
			o := older[key]
			if fo, fb := b.FreeObjects-o.FreeObjects, b.FreeBytes-o.FreeBytes; fo > 0 && fb > 0 {
				g[0], g[1] = Unbias(fo, fb, a.Rate)
			}
		}
		if (objs <= 0 || bytes <= 0) && g[1] == 0 {
			continue
		}
		liveObjs := t.AllocObjects - t.FreeObjects
		liveBytes := t.AllocBytes - t.FreeBytes
		// Copy the stack: t is a copy of the map's value, and the package
		// may be compiled with per-loop (pre-Go 1.22) loop variables.
		st := Stack{PCs: append([]uintptr(nil), t.Stack()...)}
		if objs > 0 && bytes > 0 {
			st.Objects, st.Bytes = Unbias(objs, bytes, a.Rate)
		}
		if liveObjs > 0 && liveBytes > 0 {
			st.LiveObjects, st.LiveBytes = Unbias(liveObjs, liveBytes, a.Rate)
		}
		p.Bytes += st.Bytes
		p.Objects += st.Objects
		p.LiveBytes += st.LiveBytes
		p.Stacks = append(p.Stacks, st)
		garbage = append(garbage, g)
		garbageBytes += g[1]
	}
	if older != nil && garbageBytes > 0 && exact > uint64(p.Bytes) {
		share := float64(exact-uint64(p.Bytes)) / float64(garbageBytes)
		if share > 1 {
			share = 1
		}
		p.Unswept = share
		for i := range p.Stacks {
			ob := int64(share*float64(garbage[i][0]) + 0.5)
			by := int64(share*float64(garbage[i][1]) + 0.5)
			p.Stacks[i].Objects += ob
			p.Stacks[i].Bytes += by
			p.Objects += ob
			p.Bytes += by
		}
	}
	kept := p.Stacks[:0]
	for _, st := range p.Stacks {
		if st.Bytes > 0 {
			kept = append(kept, st)
		}
	}
	p.Stacks = kept
	sort.Slice(p.Stacks, func(i, j int) bool {
		if p.Stacks[i].Bytes != p.Stacks[j].Bytes {
			return p.Stacks[i].Bytes > p.Stacks[j].Bytes
		}
		return lessPCs(p.Stacks[i].PCs, p.Stacks[j].PCs)
	})
	return p
}

func lessPCs(a, b []uintptr) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// Unbias scales a sampled (objects, bytes) pair to an estimate of the true
// values, as runtime/pprof does: an allocation of average size avg is
// sampled with probability 1−exp(−avg/rate).
func Unbias(objects, bytes int64, rate int) (int64, int64) {
	if objects <= 0 || rate <= 1 {
		return objects, bytes
	}
	avg := float64(bytes) / float64(objects)
	scale := 1 / (1 - math.Exp(-avg/float64(rate)))
	return int64(float64(objects)*scale + 0.5), int64(float64(bytes)*scale + 0.5)
}
