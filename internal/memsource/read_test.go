package memsource

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/gofil/gofil/peak"
)

// TestReadingConsistent: a reading's live heap is the one its GC count's
// mark found. A program whose GCs find, in turn, 16 MiB live and next to
// nothing (GOGC off, so no other GC runs) is read as fast as can be while
// they run: two readings with the same GC count must give the same live
// heap. A reading torn by a GC ending during metrics.Read gives the count
// before it with the live heap after, and with it a wrong exact heap at a
// mark.
func TestReadingConsistent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var keep []byte
		for i := 0; ; i++ {
			select {
			case <-stop:
				runtime.KeepAlive(keep)
				return
			default:
			}
			if i%2 == 0 {
				keep = make([]byte, 16<<20)
			} else {
				keep = nil
			}
			runtime.GC()
		}
	}()
	src := New()
	live := map[uint32]uint64{}
	torn, reads := 0, 0
	for end := time.Now().Add(time.Second); time.Now().Before(end); reads++ {
		var r peak.Memory
		src.Read(&r)
		if l, ok := live[r.Cycles]; ok && l != r.Live {
			torn++
		} else if !ok {
			live[r.Cycles] = r.Live
		}
	}
	close(stop)
	<-done
	if len(live) < 20 {
		t.Fatalf("only %d GC cycles in a second of runtime.GC", len(live))
	}
	if torn > 0 {
		t.Errorf("%d of %d readings over %d GC cycles gave a live heap other than their GC count's", torn, reads, len(live))
	}
}

// TestMarkingSeen: while a program allocates, some readings fall within a
// GC's mark phase (the GC pause count is odd then), and the GC count moves
// on after such a reading: the tracker polls fast then, for readings near
// the mark termination.
func TestMarkingSeen(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var keep [][]byte
		for {
			select {
			case <-stop:
				runtime.KeepAlive(keep)
				return
			default:
			}
			keep = append(keep, make([]byte, 4096))
			if len(keep) > 1<<14 {
				keep = nil
			}
		}
	}()
	src := New()
	var r peak.Memory
	marking, ended := 0, 0
	var markCycle uint32
	inMark := false
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && ended < 5 {
		src.Read(&r)
		switch {
		case r.Marking:
			marking++
			inMark, markCycle = true, r.Cycles
		case inMark && r.Cycles > markCycle:
			ended++
			inMark = false
		}
		time.Sleep(20 * time.Microsecond)
	}
	close(stop)
	<-done
	t.Logf("%d readings within a mark phase, %d mark terminations seen after one", marking, ended)
	if ended == 0 {
		t.Errorf("no reading found a GC marking and then its mark terminated (%d marking readings)", marking)
	}
}

// TestStartGCCountsItsKicks: what StartGC allocates to start a GC is
// garbage in the heap at that GC's mark, and the tracker takes it out of
// the program's heap there (Marking's Own). With 64 MiB live and the GC
// target lowered to 1%, a GC starts after some hundreds of KiB: the count
// must be what the runtime saw allocated meanwhile, in whole kicks, within
// 256 KiB for anything else the runtime allocated.
func TestStartGCCountsItsKicks(t *testing.T) {
	keep := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		keep = append(keep, make([]byte, 1<<20))
	}
	runtime.GC()
	src := New()
	var before, after peak.Memory
	src.Read(&before)
	if !src.StartGC(before.Cycles) {
		t.Fatal("StartGC started no GC")
	}
	src.Read(&after)
	m, _, _ := src.Marking()
	runtime.KeepAlive(keep)
	allocated := after.Allocs - before.Allocs
	t.Logf("StartGC counted %d bytes of kicks; %d bytes allocated meanwhile", m.Own, allocated)
	if m.Own == 0 || m.Own%kickBytes != 0 {
		t.Errorf("StartGC counted %d bytes of kicks, want a positive multiple of %d", m.Own, kickBytes)
	}
	if m.Own > allocated || allocated-m.Own > 256<<10 {
		t.Errorf("StartGC counted %d bytes of kicks, but %d bytes were allocated meanwhile", m.Own, allocated)
	}
}
