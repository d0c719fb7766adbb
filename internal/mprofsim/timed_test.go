package mprofsim

import (
	"runtime"
	"testing"
)

// TestTimedKeepsTheRuntimesIdentities holds the simulated runtime to the
// identities the accounting rests on (peak/marks.go, DESIGN.md): the heap
// at mark n is what mark n−1 found live plus all allocated since, and what
// mark n found live plus what its sweep freed; a snapshot after mark n
// holds the allocations before mark n−1 and the frees of the sweeps up to
// n−1, or, after a runtime.GC's early publication, the allocations before
// mark n and the frees of its sweep; the readings agree with the truth.
func TestTimedKeepsTheRuntimesIdentities(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 50
	}
	var marks, forced, early int
	for seed := int64(1); seed <= int64(seeds); seed++ {
		r := NewTimed(seed)
		checked := 0
		for !r.Done() {
			r.Step()
			rd := r.Read()
			ev := r.Events()[rd.Event]
			if rd.Heap != ev.Heap || rd.RSS-(rd.GoMapped-rd.GoReleased) != ev.Outside {
				t.Fatalf("seed %d step %d: read heap %d, outside %d; the truth is %d, %d", seed, rd.Step, rd.Heap, rd.RSS-(rd.GoMapped-rd.GoReleased), ev.Heap, ev.Outside)
			}
			ms := r.Marks()
			for ; checked < len(ms); checked++ {
				m := ms[checked]
				var live, heap, before, allocated int64
				for s := range m.Heap {
					heap += m.Heap[s]
					live += m.Live[s]
					allocated += m.Allocated[s]
					if m.Live[s] > m.Heap[s] || m.Heap[s] != m.Allocated[s]-m.Freed[s] {
						t.Fatalf("seed %d mark %d stack %d: live %d, heap %d, allocated %d, freed %d", seed, m.N, s, m.Live[s], m.Heap[s], m.Allocated[s], m.Freed[s])
					}
				}
				if checked > 0 {
					p := ms[checked-1]
					for s := range p.Heap {
						before += p.Live[s] - p.Allocated[s]
					}
					if heap != before+allocated {
						t.Fatalf("seed %d mark %d: heap %d, but the mark before found %d live and %d were allocated since", seed, m.N, heap, before+allocated-allocated, allocated)
					}
				}
				if checked+1 < len(ms) {
					// Sweep n freed the garbage at mark n, and nothing else
					// freed anything before mark n+1.
					next := ms[checked+1]
					for s := range m.Heap {
						if m.Heap[s]-m.Live[s] != next.Freed[s]-m.Freed[s] {
							t.Fatalf("seed %d mark %d stack %d: garbage %d, swept %d", seed, m.N, s, m.Heap[s]-m.Live[s], next.Freed[s]-m.Freed[s])
						}
					}
				}
				marks++
				if m.By == ByProgram {
					forced++
				}
			}
			if rd.Cycles < 2 {
				continue // nothing published yet; MemProfile would publish all
			}
			n := rd.Cycles
			cycle, recs := r.MemProfile()
			if cycle != n {
				t.Fatalf("seed %d: profile of cycle %d, reading of %d", seed, cycle, n)
			}
			allocs, frees := perStack(recs, len(ms[0].Heap))
			regular := equal(allocs, ms[n-2].Allocated) && equal(frees, ms[n-1].Freed)
			post := ms[n-1].By == ByProgram && equal(allocs, ms[n-1].Allocated) && equal(frees, r.freeBy)
			if !regular && !post {
				t.Fatalf("seed %d step %d: the profile after mark %d holds allocations %v and frees %v; want %v and %v (or, published early, %v and %v)",
					seed, rd.Step, n, allocs, frees, ms[n-2].Allocated, ms[n-1].Freed, ms[n-1].Allocated, r.freeBy)
			}
			if post && !regular {
				early++
			}
		}
	}
	if marks < 10*seeds || forced == 0 || early == 0 {
		t.Errorf("%d seeds made %d marks, %d forced, %d profiles seen published early: the programs do not exercise the runtime", seeds, marks, forced, early)
	}
}

func perStack(recs []runtime.MemProfileRecord, n int) (allocs, frees []int64) {
	allocs, frees = make([]int64, n), make([]int64, n)
	for _, r := range recs {
		allocs[r.Stack0[0]] += r.AllocBytes
		frees[r.Stack0[0]] += r.FreeBytes
	}
	return allocs, frees
}

func equal(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
