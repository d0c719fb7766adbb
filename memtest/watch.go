package memtest

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// metricNames are the runtime's counters a reading takes, in the order
// of reading's fields.
var metricNames = [...]string{
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/frees:bytes",
	"/gc/heap/live:bytes", // Go 1.21 on
}

// meter reads the counters without allocating.
type meter struct {
	samples []metrics.Sample
	cycle   []metrics.Sample
}

func newMeter() *meter {
	m := &meter{
		samples: make([]metrics.Sample, len(metricNames)),
		cycle:   []metrics.Sample{{Name: metricNames[0]}},
	}
	for i, name := range metricNames {
		m.samples[i].Name = name
	}
	return m
}

// read returns the counters; ok is false when the runtime lacks one.
func (m *meter) read() (r reading, ok bool) {
	metrics.Read(m.samples)
	v := [len(metricNames)]uint64{}
	for i := range m.samples {
		if m.samples[i].Value.Kind() != metrics.KindUint64 {
			return reading{}, false
		}
		v[i] = m.samples[i].Value.Uint64()
	}
	return reading{cycles: v[0], frees: v[1], live: v[2]}, true
}

func (m *meter) cycles() uint64 {
	metrics.Read(m.cycle)
	return m.cycle[0].Value.Uint64()
}

// pollInterval is how often the watcher looks for a new GC cycle between
// the wake-ups at each GC.
const pollInterval = time.Millisecond

// watcher follows the heap while a scope is open: at each GC cycle (a
// finalizer on an object of its own runs after each mark, and it polls
// every pollInterval for the cycles that wake-up misses) it takes a
// reading and a heap profile snapshot, feeds the finder, and keeps the
// snapshots around the largest heap. Between start and stop only its
// goroutine touches it; after stop, the caller's.
type watcher struct {
	meter  *meter
	rate   int64
	gc     chan struct{}
	quit   chan struct{}
	done   chan struct{}
	ended  atomic.Bool
	ticker *time.Ticker

	find finder
	// cur is the snapshot of the latest observed cycle; prev that of the
	// cycle observed before it.
	cur, prev, spare snapshot
	// bestAlloc and bestFree attribute the finder's best candidate:
	// allocations counted in the one, frees in the other.
	bestAlloc, bestFree snapshot
	// pendingLive tells that the best candidate is a live heap alone,
	// attributed by the next cycle's snapshot.
	pendingLive bool
	// heldBase is what the buffers held at the scope's baseline.
	heldBase int64
}

// held is what the snapshots' buffers hold.
func (w *watcher) held() int64 {
	n := 0
	for _, s := range []*snapshot{&w.cur, &w.prev, &w.spare, &w.bestAlloc, &w.bestFree} {
		n += cap(s.recs)
	}
	return int64(n) * recordSize
}

// ownHeld is what the watcher's buffers grew by since the baseline: the
// measurement's own heap.
func (w *watcher) ownHeld() int64 {
	return w.held() - w.heldBase
}

// newWatcher makes a watcher whose buffers fit the current heap profile
// with room to grow, so that they are part of the baseline.
func newWatcher(m *meter, rate int64) *watcher {
	n, _ := runtime.MemProfile(nil, true)
	size := 2*n + 1024
	w := &watcher{
		meter: m,
		rate:  rate,
		gc:    make(chan struct{}, 1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for _, s := range []*snapshot{&w.cur, &w.prev, &w.spare, &w.bestAlloc, &w.bestFree} {
		s.recs = make([]runtime.MemProfileRecord, 0, size)
	}
	w.ticker = time.NewTicker(pollInterval)
	w.ticker.Stop()
	return w
}

// sentinel is an object whose finalizer tells the watcher a GC happened.
type sentinel struct {
	w *watcher
}

func sentinelFinalizer(s *sentinel) { s.w.onGC() }

func (w *watcher) arm() {
	runtime.SetFinalizer(&sentinel{w: w}, sentinelFinalizer)
}

func (w *watcher) onGC() {
	select {
	case w.gc <- struct{}{}:
	default:
	}
	if !w.ended.Load() {
		w.arm()
	}
}

// start observes the scope's baseline cycle (into base, a copy of its
// snapshot), returns its reading, and begins watching.
func (w *watcher) start(base *snapshot) reading {
	r := w.observe()
	base.copyFrom(&w.cur)
	w.heldBase = w.held()
	w.arm()
	w.ticker.Reset(pollInterval)
	go w.run()
	return r
}

func (w *watcher) run() {
	defer close(w.done)
	for {
		select {
		case <-w.quit:
			return
		case <-w.gc:
		case <-w.ticker.C:
		}
		w.observe()
	}
}

// stop ends the goroutine; the caller owns w afterwards.
func (w *watcher) stop() {
	w.ended.Store(true)
	w.ticker.Stop()
	close(w.quit)
	<-w.done
}

// observe takes a reading and, if it is the first of its cycle, a heap
// profile snapshot within the same cycle, and feeds the finder.
func (w *watcher) observe() reading {
	r, ok := w.snap()
	if !ok {
		return r
	}
	newBest := w.find.add(w.observation(r))
	w.nextLive()
	if newBest {
		w.keepBest()
	}
	return r
}

// snap takes a reading and, when its cycle is new, a snapshot of the
// same cycle into cur (the former cur becoming prev); new tells which.
func (w *watcher) snap() (r reading, new bool) {
	for {
		r, _ = w.meter.read()
		if w.find.started && r.cycles == w.cur.cycles {
			return r, false
		}
		w.spare, w.prev, w.cur = w.prev, w.cur, w.spare
		w.cur.take(w.meter.cycles)
		if w.cur.cycles == r.cycles {
			return r, true
		}
		// The cycle moved meanwhile: undo and try again in the new one.
		w.spare, w.prev, w.cur = w.cur, w.spare, w.prev
	}
}

func (w *watcher) observation(r reading) observation {
	return observation{cycle: r.cycles, live: r.live, freed: w.cur.freed(w.rate)}
}

// finish closes the watch once the watcher has stopped: it waits for the
// sweep of the current cycle to settle, forces a GC, and gives the finder
// the heap at that GC's mark (and at the mark of a cycle that was under
// way when it was called, which runtime.GC completes first). It returns
// the reading after the GC.
func (w *watcher) finish() reading {
	var settled reading
	for i := 0; i < 10; i++ {
		w.observe()
		settled = w.settle()
		if settled.cycles == w.cur.cycles {
			break
		}
	}
	runtime.GC()
	r, _ := w.snap()
	var garbage uint64
	if r.frees > settled.frees && r.cycles > settled.cycles {
		garbage = r.frees - settled.frees
	}
	newBest := w.find.end(w.observation(r), garbage)
	w.nextLive()
	if newBest {
		w.keepBest()
	}
	return r
}

// settle reads the frees until two readings 100µs apart agree (the
// sweep has ended), for at most 20 ms, and returns the last reading.
func (w *watcher) settle() reading {
	r, _ := w.meter.read()
	for i := 0; i < 200; i++ {
		time.Sleep(100 * time.Microsecond)
		next, _ := w.meter.read()
		if next.frees == r.frees && next.cycles == r.cycles {
			return next
		}
		r = next
	}
	return r
}

// keepBest keeps the snapshots that attribute a new best candidate. The
// heap at mark N counts the allocations of the snapshot after it and the
// frees of the snapshot before (the heap profile publishes a cycle's
// allocations one cycle later than its frees). A live heap alone, whose
// next cycle was missed, is attributed the same way once a later snapshot
// comes, and until then by its own snapshot alone: that counts the heap
// at the mark (garbage too) and what was allocated after it up to a later
// mark, for its own snapshot only knows the live heap of the mark before.
func (w *watcher) keepBest() {
	b := w.find.best
	w.bestAlloc.copyFrom(&w.cur)
	if b.atMark {
		w.bestFree.copyFrom(&w.prev)
	} else {
		w.bestFree.copyFrom(&w.cur)
	}
	w.pendingLive = !b.atMark
}

// nextLive gives a live heap that was the best candidate the allocations
// of the snapshot after it.
func (w *watcher) nextLive() {
	if w.pendingLive && w.cur.cycles > w.find.best.cycle {
		w.bestAlloc.copyFrom(&w.cur)
		w.pendingLive = false
	}
}
