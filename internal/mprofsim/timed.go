package mprofsim

import (
	"math"
	"math/rand"
	"runtime"
)

// Timed is a time-stepped simulation of a Go program and of the runtime
// under it, for randomized tests of the code that watches the runtime:
// the heap; the GC cycles as the runtime runs them (paced by GOGC and a
// memory limit, forced by the program's runtime.GC, or started by the
// tracker); the heap profile as src/runtime/mprof.go publishes it; the
// runtime's metrics; and memory outside the heap. Every allocation is
// sampled (MemProfileRate 1), so the profile is exact.
//
// It also keeps the truth the tests hold the accounting to: the heap and
// the memory outside it after every change, and per stack at every mark
// termination.
//
// One Step is a unit of virtual time. In it the program acts first (it
// allocates, drops data, maps memory, calls runtime.GC), then the runtime
// (a GC marks, or sweeps, or starts). Readings and snapshots are taken
// between steps.
//
// The program, drawn from the seed: up to sixteen allocation stacks, each
// with one to five allocation sizes and a kind (kept to the end or until a
// phase drops part of it, churned for a few steps, dropped at once, kept
// for its phase, or grown as append grows a slice, every smaller array
// dropped); phases of random length and allocation rate, which drop their
// data at their end, then sometimes call runtime.GC or
// debug.FreeOSMemory; bursts; memory mapped outside the heap for a while;
// runtime.GC at random moments or right after a GC; GOGC off, 25 to 400,
// and sometimes a memory limit. Before the tracker starts, the program's
// initialisation allocates what it keeps for good.
//
// What the runtime does, as modelled here:
//
//   - A GC cycle starts when the heap the pacer counts (what the last mark
//     found live and all allocated since) reaches the trigger, a random
//     point of the runway to the goal: live × (1+GOGC/100), at least
//     4 MiB × GOGC/100, and at most what the memory limit leaves. With
//     GOGC off and no limit, only runtime.GC or the tracker starts one.
//   - Starting a cycle finishes the sweep of the one before
//     (finishsweep_m): sweeping is always over before the next mark.
//   - Marking lasts a few steps. What the program reached when it began is
//     marked (the write barrier keeps it), and what it allocates meanwhile
//     is allocated black; what it dropped during the mark may or may not
//     be marked, depending on when its stack was scanned.
//   - At mark termination the GC count advances, /gc/heap/live:bytes
//     becomes what the mark found, and the heap profile's cycle advances
//     and is published (mProf_NextCycle, mProf_Flush). The sweep then frees
//     the garbage over the following steps; cumulative frees grow as it
//     does.
//   - runtime.GC waits for a mark in progress, runs a cycle of its own,
//     sweeps it to the end and then publishes the profile early
//     (mProf_PostSweep), unless another mark termination came first.
//     Other goroutines may allocate meanwhile.
//   - runtime.MemProfile folds every pending cycle into the published
//     profile when nothing at all has been published yet (a program with
//     the GC off from the start).
//   - The heap is mapped as it grows, free pages are returned to the OS a
//     little at a time (all of them by debug.FreeOSMemory), and the
//     resident set is what the runtime holds, the mappings outside it and
//     the binary.
//
// Left out: the allocator's per-P caches (the runtime counts a small
// object's allocation when its span leaves the cache, so readings near a
// mark can be off by a few spans), sampling at rates other than 1, the
// tracker's own allocations, the GC's CPU limiter and assist credit, and
// readings that are not atomic (metrics.Read retried by the tracker).
type Timed struct {
	Settings

	rng     *rand.Rand
	step    int
	running bool

	specs []spec
	ph    phase

	// The heap: objects not freed and not garbage of the last mark, and
	// that garbage, which the sweep frees.
	objs    []*object
	unswept []*object

	heapBy, allocBy, freeBy []int64
	allocs, frees           uint64

	// The collector.
	cycles, forced uint32
	marking        bool
	markLeft       int
	markBy         Starter
	live           uint64
	allocsAtMark   uint64
	// trigger is the heap at which the pacer starts a cycle (none when
	// GOGC is off and there is no limit); due says the heap reached it.
	trigger, goal uint64
	due           bool
	sweepRate     float64

	// The program's runtime.GC under way, if any.
	call      callState
	callN     uint32
	callFree  bool // debug.FreeOSMemory: the free heap is released after
	lastCycle uint32

	// The heap profile.
	profCycle uint32
	buckets   []bucket
	bucketOf  map[bucketKey]int

	// Memory the runtime maps, and memory outside it.
	heapSys, released uint64
	outside           uint64
	maps              []mapping

	marks  []Mark
	events []Held
}

// Settings are the program's GC settings and shape, drawn from the seed.
type Settings struct {
	// GOGC is −1 for off; Limit the memory limit, 0 for none.
	GOGC  int
	Limit uint64
	// Steps is how long the program runs.
	Steps int
	// ForcedRate is the chance, per step, that the program calls
	// runtime.GC; AfterGC that it calls it right after a GC.
	ForcedRate, AfterGC float64
	// Background is what other goroutines allocate per step while the
	// main one waits in runtime.GC.
	Background int64
	// MarkSteps is the longest a mark lasts.
	MarkSteps int
}

// Starter says who started a GC cycle.
type Starter int

const (
	// ByRuntime is a cycle the pacer started: the heap reached its trigger.
	ByRuntime Starter = iota
	// ByProgram is the program's runtime.GC: a forced cycle.
	ByProgram
	// ByTracker is a cycle the tracker started (Timed.StartGC).
	ByTracker
)

// Mark is the truth at one mark termination.
type Mark struct {
	N    uint32
	Step int
	// Event is the index, in Events, of the heap as it was at the mark.
	Event int
	By    Starter
	// Heap is the bytes per stack in the heap at the mark, Live what the
	// mark found reachable of them; the rest is the garbage its sweep
	// frees.
	Heap, Live []int64
	// Allocated and Freed are the cumulative bytes allocated and freed per
	// stack by the mark.
	Allocated, Freed []int64
}

// Held is the memory after one change: the heap (bytes in objects
// allocated and not freed) and the resident memory outside the Go runtime.
type Held struct {
	Heap, Outside uint64
}

// Reading is what the runtime's metrics and /proc say between two steps.
type Reading struct {
	Step int
	// Event is the index, in Events, of the heap as it was when read.
	Event          int
	Cycles, Forced uint32
	// Heap is /memory/classes/heap/objects:bytes, Live /gc/heap/live:bytes,
	// Allocs and Frees /gc/heap/allocs:bytes and /gc/heap/frees:bytes.
	Heap, Live, Allocs, Frees uint64
	// GoMapped and GoReleased are /memory/classes/total:bytes and
	// /memory/classes/heap/released:bytes; RSS and RSSAnon the resident
	// set and its anonymous part. RSS − (GoMapped − GoReleased) is what is
	// outside the runtime.
	GoMapped, GoReleased, RSS, RSSAnon uint64
}

type callState int

const (
	noCall       callState = iota
	callWaiting            // for a mark in progress to end
	callMarking            // its own cycle marks
	callSweeping           // it sweeps before publishing
)

type object struct {
	stack, bucket int
	size, count   int64
	// dies is the step from which the program no longer reaches it.
	dies  int
	phase int // the phase whose end drops it, −1 if none, global if never
	// black: allocated during the mark under way; reached: reachable when
	// that mark began.
	black, reached bool
}

func (o *object) bytes() int64 { return o.size * o.count }

const never = math.MaxInt

// global is the phase of what the program keeps to its end and after.
const global = -2

// stack kinds
const (
	keep   = iota // kept, until a phase's end drops some of it
	churn         // kept a few steps
	temp          // dropped at once
	phased        // kept until its phase ends
	grows         // append growth: each size dropped when the next is made
	nKinds
)

type spec struct {
	kind  int
	sizes []int64
	life  int // mean steps a churned object lives
}

type phase struct {
	id       int
	end      int
	rate     int64 // bytes allocated per step
	active   []int
	gcAtEnd  int // 0 none, 1 runtime.GC, 2 debug.FreeOSMemory
	dropKeep float64
}

type mapping struct {
	bytes uint64
	until int
}

type bucketKey struct {
	stack int
	size  int64
}

// memRecordCycle is one cycle's counts of a bucket, as mprof.go keeps them.
type memRecordCycle struct {
	allocs, frees, allocBytes, freeBytes int64
}

func (c *memRecordCycle) add(d *memRecordCycle) {
	c.allocs += d.allocs
	c.frees += d.frees
	c.allocBytes += d.allocBytes
	c.freeBytes += d.freeBytes
}

type bucket struct {
	key    bucketKey
	active memRecordCycle
	future [3]memRecordCycle
}

// binary is the resident memory of the program's text and data.
const binary = 3 << 20

// sizes are allocation sizes as the allocator rounds them: size classes,
// and whole pages above 32 KiB.
var sizes = []int64{16, 32, 48, 96, 256, 512, 1024, 2048, 4096, 5376, 9472, 16384, 32768, 40960, 106496, 262144, 1 << 20, 4 << 20}

// NewTimed makes the program and the runtime seed draws, before its first
// step: nothing allocated yet.
func NewTimed(seed int64) *Timed {
	rng := rand.New(rand.NewSource(seed))
	r := &Timed{rng: rng, running: true, bucketOf: map[bucketKey]int{}}
	r.GOGC = []int{-1, -1, 25, 50, 100, 100, 100, 200, 400}[rng.Intn(9)]
	if rng.Intn(5) == 0 {
		r.Limit = uint64(16+rng.Intn(240)) << 20
	}
	r.Steps = 100 + rng.Intn(500)
	r.ForcedRate = []float64{0, 0.002, 0.01, 0.05}[rng.Intn(4)]
	r.AfterGC = []float64{0, 0, 0.1, 0.5}[rng.Intn(4)]
	if rng.Intn(3) == 0 {
		r.Background = int64(1+rng.Intn(64)) << 10
	}
	r.MarkSteps = []int{1, 2, 3, 8}[rng.Intn(4)]
	r.sweepRate = []float64{0.05, 0.2, 0.5, 1}[rng.Intn(4)]
	n := 3 + rng.Intn(14)
	for i := 0; i < n; i++ {
		r.specs = append(r.specs, r.newSpec())
	}
	r.heapBy = make([]int64, n+1)
	r.allocBy = make([]int64, n+1)
	r.freeBy = make([]int64, n+1)
	r.events = append(r.events, Held{Outside: binary})
	r.setTrigger()
	r.newPhase()
	// The runtime's and the packages' initialisation allocate before
	// anything can watch the program, and keep it to the end.
	r.alloc(1, 4096, 4, never, global)
	return r
}

func (r *Timed) newSpec() spec {
	s := spec{kind: r.rng.Intn(nKinds), life: 1 + r.rng.Intn(30)}
	if s.kind == grows {
		// Append growth: doubling sizes, rounded as the allocator does.
		b := int64(256) << r.rng.Intn(6)
		for i := 0; i < 3+r.rng.Intn(5); i++ {
			s.sizes = append(s.sizes, roundSize(b<<i))
		}
		return s
	}
	for i := 0; i < 1+r.rng.Intn(5); i++ {
		s.sizes = append(s.sizes, sizes[r.rng.Intn(len(sizes))])
	}
	return s
}

// roundSize rounds n up to a size the allocator hands out: a power of two
// up to 32 KiB (close enough to its size classes), else whole 8 KiB pages.
func roundSize(n int64) int64 {
	if n > 32<<10 {
		return (n + 8191) &^ 8191
	}
	s := int64(16)
	for s < n {
		s *= 2
	}
	return s
}

func (r *Timed) newPhase() {
	p := phase{id: r.ph.id + 1, end: r.step + 10 + r.rng.Intn(120)}
	p.rate = int64(16+r.rng.Intn(2048)) << 10
	for i := range r.specs {
		if r.rng.Intn(2) == 0 {
			p.active = append(p.active, i+1)
		}
	}
	if len(p.active) == 0 {
		p.active = []int{1 + r.rng.Intn(len(r.specs))}
	}
	switch x := r.rng.Intn(10); {
	case x < 2:
		p.gcAtEnd = 1
	case x < 3:
		p.gcAtEnd = 2
	}
	p.dropKeep = []float64{0, 0, 0.3, 1}[r.rng.Intn(4)]
	r.ph = p
}

// Stacks is the number of allocation stacks: a record's Stack0[0] is its
// stack, from 1.
func (r *Timed) Stacks() int { return len(r.specs) }

// Now is the current step.
func (r *Timed) Now() int { return r.step }

// Running says the program has not ended.
func (r *Timed) Running() bool { return r.running }

// Done says the program has run its steps and may end: it is not waiting
// in runtime.GC.
func (r *Timed) Done() bool { return r.step >= r.Steps && r.call == noCall }

// End ends the program (main returns): it allocates nothing more, and
// what it held stays in the heap until a GC finds it unreachable. The
// runtime goes on with the steps that follow: a sweep under way goes on.
func (r *Timed) End() {
	r.running = false
	for _, o := range r.objs {
		if o.dies > r.step && o.phase != global {
			o.dies = r.step
		}
	}
}

// Step runs one step of virtual time.
func (r *Timed) Step() {
	r.step++
	if r.running {
		if r.call == noCall {
			r.program()
		} else if r.Background > 0 {
			r.allocate(1+r.rng.Intn(len(r.specs)), r.Background/2+r.rng.Int63n(r.Background))
		}
	}
	r.collect()
	r.scavenge()
}

// program is the program's part of a step.
func (r *Timed) program() {
	if r.step >= r.ph.end {
		r.endPhase()
		if r.call != noCall {
			return
		}
	}
	budget := r.ph.rate/2 + r.rng.Int63n(r.ph.rate+1)
	if r.rng.Intn(50) == 0 {
		budget *= 8 // a burst
	}
	// A few allocation sites run in a step, each making its share.
	share := budget / int64(1+r.rng.Intn(6))
	for budget > 0 {
		s := r.ph.active[r.rng.Intn(len(r.ph.active))]
		budget -= r.allocate(s, share)
	}
	r.mapOutside()
	switch {
	case r.cycles != r.lastCycle && r.rng.Float64() < r.AfterGC,
		r.rng.Float64() < r.ForcedRate:
		r.runtimeGC(false)
	}
	r.lastCycle = r.cycles
}

// allocate makes about chunk bytes from stack s (at least one object),
// and returns how many it made.
func (r *Timed) allocate(s int, chunk int64) int64 {
	sp := &r.specs[s-1]
	if sp.kind == grows {
		// Slices grown to their final size: every smaller array is
		// garbage at once, the last kept for the phase.
		n := 1 + r.rng.Intn(len(sp.sizes))
		var all int64
		for _, size := range sp.sizes[:n] {
			all += size
		}
		count := chunk / all
		if count < 1 {
			count = 1
		}
		var made int64
		for i := 0; i < n; i++ {
			dies, ph := r.step, -1
			if i == n-1 {
				dies, ph = never, r.ph.id
			}
			made += r.alloc(s, sp.sizes[i], count, dies, ph)
		}
		return made
	}
	size := sp.sizes[r.rng.Intn(len(sp.sizes))]
	count := chunk / size
	if count < 1 {
		count = 1
	}
	dies, ph := never, -1
	switch sp.kind {
	case churn:
		dies = r.step + 1 + r.rng.Intn(2*sp.life)
	case temp:
		dies = r.step
	case phased:
		ph = r.ph.id
	}
	return r.alloc(s, size, count, dies, ph)
}

func (r *Timed) alloc(s int, size, count int64, dies, ph int) int64 {
	k := bucketKey{s, size}
	b, ok := r.bucketOf[k]
	if !ok {
		b = len(r.buckets)
		r.buckets = append(r.buckets, bucket{key: k})
		r.bucketOf[k] = b
	}
	o := &object{stack: s, bucket: b, size: size, count: count, dies: dies, phase: ph, black: r.marking}
	r.objs = append(r.objs, o)
	n := o.bytes()
	r.allocs += uint64(n)
	r.allocBy[s] += n
	r.heapBy[s] += n
	// mProf_Malloc: into the cycle published two mark terminations on.
	f := &r.buckets[b].future[(r.profCycle+2)%3]
	f.allocs += count
	f.allocBytes += n
	r.changed()
	if r.paced() && r.live+(r.allocs-r.allocsAtMark) >= r.trigger {
		// The heap reached the trigger: a cycle starts at the end of the
		// step (the allocations of a step are one burst).
		r.due = true
	}
	return n
}

func (r *Timed) free(o *object) {
	n := o.bytes()
	r.frees += uint64(n)
	r.freeBy[o.stack] += n
	r.heapBy[o.stack] -= n
	// mProf_Free: into the cycle published at the next mark termination.
	f := &r.buckets[o.bucket].future[(r.profCycle+1)%3]
	f.frees += o.count
	f.freeBytes += n
	r.changed()
}

func (r *Timed) changed() {
	r.events = append(r.events, Held{Heap: r.allocs - r.frees, Outside: r.outside + binary})
}

func (r *Timed) endPhase() {
	for _, o := range r.objs {
		if o.dies != never {
			continue
		}
		if o.phase == r.ph.id || o.phase == -1 && r.rng.Float64() < r.ph.dropKeep {
			o.dies = r.step
		}
	}
	gc := r.ph.gcAtEnd
	r.newPhase()
	if gc != 0 {
		r.runtimeGC(gc == 2)
	}
}

func (r *Timed) mapOutside() {
	kept := r.maps[:0]
	for _, m := range r.maps {
		if m.until > r.step {
			kept = append(kept, m)
			continue
		}
		r.outside -= m.bytes
		r.changed()
	}
	r.maps = kept
	if r.rng.Intn(100) == 0 {
		m := mapping{bytes: uint64(1+r.rng.Intn(300)) << 20, until: r.step + 1 + r.rng.Intn(100)}
		r.maps = append(r.maps, m)
		r.outside += m.bytes
		r.changed()
	}
}

// runtimeGC is the program's call of runtime.GC (or, with freeOS,
// debug.FreeOSMemory): it waits in it until it returns.
func (r *Timed) runtimeGC(freeOS bool) {
	r.callFree = freeOS
	if r.marking {
		// gcWaitOnMark: the cycle under way first.
		r.call = callWaiting
		return
	}
	r.gcStart(ByProgram)
	r.call, r.callN = callMarking, r.cycles+1
}

// collect is the runtime's part of a step.
func (r *Timed) collect() {
	if r.marking {
		r.markLeft--
		if r.markLeft <= 0 {
			r.markTermination()
		}
	} else {
		r.sweep(r.sweepRate)
	}
	switch r.call {
	case callWaiting:
		if !r.marking {
			r.gcStart(ByProgram)
			r.call, r.callN = callMarking, r.cycles+1
		}
	case callMarking:
		if r.cycles >= r.callN {
			r.call = callSweeping
			if r.rng.Intn(2) == 0 {
				r.sweepForced() // a small heap: swept at once
			}
		}
	case callSweeping:
		r.sweepForced()
	}
	if !r.marking && r.due {
		r.gcStart(ByRuntime)
	}
}

// paced says the pacer starts cycles: GOGC is on or there is a limit.
func (r *Timed) paced() bool { return r.GOGC >= 0 || r.Limit > 0 }

// sweepForced is runtime.GC sweeping its cycle to the end, then
// publishing the profile early, unless another mark has terminated since.
func (r *Timed) sweepForced() {
	r.sweep(0.5 + r.rng.Float64()/2)
	if len(r.unswept) > 0 {
		return
	}
	if r.cycles == r.callN {
		r.postSweep()
	}
	if r.callFree {
		r.released = r.heapSys - r.inUse()
	}
	r.call = noCall
}

// sweep frees a share of the last mark's garbage, in no particular order.
func (r *Timed) sweep(share float64) {
	n := int(math.Ceil(share * float64(len(r.unswept))))
	for i := 0; i < n && len(r.unswept) > 0; i++ {
		j := r.rng.Intn(len(r.unswept))
		o := r.unswept[j]
		last := len(r.unswept) - 1
		r.unswept[j] = r.unswept[last]
		r.unswept = r.unswept[:last]
		r.free(o)
	}
}

func (r *Timed) gcStart(by Starter) {
	r.due = false
	// finishsweep_m: the sweep before is over before a cycle starts.
	r.sweep(1)
	r.marking = true
	r.markBy = by
	r.markLeft = 1 + r.rng.Intn(r.MarkSteps)
	for _, o := range r.objs {
		o.black = false
		o.reached = o.dies > r.step
	}
}

func (r *Timed) markTermination() {
	n := len(r.specs) + 1
	m := Mark{
		N: r.cycles + 1, Step: r.step, Event: len(r.events) - 1, By: r.markBy,
		Heap: append([]int64(nil), r.heapBy...), Live: make([]int64, n),
		Allocated: append([]int64(nil), r.allocBy...), Freed: append([]int64(nil), r.freeBy...),
	}
	kept := r.objs[:0]
	r.live = 0
	for _, o := range r.objs {
		// Dropped during the mark: marked if its stack had not been
		// scanned yet.
		marked := o.black || o.reached && (o.dies > r.step || r.rng.Intn(2) == 0)
		if marked {
			kept = append(kept, o)
			m.Live[o.stack] += o.bytes()
			r.live += uint64(o.bytes())
		} else {
			r.unswept = append(r.unswept, o)
		}
		o.black = false
	}
	for i := len(kept); i < len(r.objs); i++ {
		r.objs[i] = nil
	}
	r.objs = kept
	r.marking = false
	r.cycles++
	if r.markBy == ByProgram {
		r.forced++
	}
	r.allocsAtMark = r.allocs
	// mProf_NextCycle, then mProf_Flush.
	r.profCycle++
	r.flush(r.profCycle % 3)
	r.marks = append(r.marks, m)
	r.setTrigger()
}

// setTrigger sets the heap at which the pacer starts the next cycle.
func (r *Timed) setTrigger() {
	r.trigger, r.goal, r.due = 0, 0, false
	if !r.paced() {
		return
	}
	goal := uint64(math.MaxUint64)
	if r.GOGC >= 0 {
		goal = r.live + r.live*uint64(r.GOGC)/100
		if min := uint64(4<<20) * uint64(r.GOGC) / 100; goal < min {
			goal = min
		}
	}
	if r.Limit > 0 {
		// The limit counts the runtime's memory, not only the heap.
		lim := r.Limit - r.Limit/16
		if lim < goal {
			goal = lim
		}
	}
	r.goal = goal
	if goal <= r.live {
		// The limit is below the live heap: cycle after cycle.
		r.trigger, r.due = r.live, true
		return
	}
	r.trigger = r.live + uint64(float64(goal-r.live)*(0.7+0.25*r.rng.Float64()))
}

// flush folds future cycle c into the published profile
// (mProf_FlushLocked).
func (r *Timed) flush(c uint32) {
	for i := range r.buckets {
		b := &r.buckets[i]
		b.active.add(&b.future[c])
		b.future[c] = memRecordCycle{}
	}
}

// postSweep is mProf_PostSweep: the allocations before the last mark and
// the frees of its sweep, published without advancing the cycle.
func (r *Timed) postSweep() { r.flush((r.profCycle + 1) % 3) }

// MemProfile is runtime.MemProfile(p, true) with the GC count it was taken
// at: every bucket, as published; a record's Stack0[0] is its stack.
func (r *Timed) MemProfile() (uint32, []runtime.MemProfileRecord) {
	// memProfileInternal flushes the current cycle (a mark's flush may
	// still be pending), and everything when nothing was published.
	r.flush(r.profCycle % 3)
	clear := true
	for i := range r.buckets {
		if a := r.buckets[i].active; a.allocs != 0 || a.frees != 0 {
			clear = false
			break
		}
	}
	if clear {
		for c := uint32(0); c < 3; c++ {
			r.flush(c)
		}
	}
	out := make([]runtime.MemProfileRecord, len(r.buckets))
	for i := range r.buckets {
		b := &r.buckets[i]
		rec := &out[len(out)-1-i] // newest bucket first, as mbuckets lists them
		rec.AllocObjects, rec.AllocBytes = b.active.allocs, b.active.allocBytes
		rec.FreeObjects, rec.FreeBytes = b.active.frees, b.active.freeBytes
		rec.Stack0[0] = uintptr(b.key.stack)
	}
	return r.cycles, out
}

// StartGC is what the tracker does to account the heap now: it starts a
// cycle the way an allocation does, if none is under way, and waits until
// a mark has terminated since from. The program, if it still runs, runs
// meanwhile.
func (r *Timed) StartGC(from uint32) bool {
	if r.cycles != from {
		return true
	}
	if !r.marking {
		r.gcStart(ByTracker)
	}
	for r.cycles == from {
		r.Step()
	}
	return true
}

// inUse is the heap memory in use for objects: the objects and what
// rounding to spans wastes.
func (r *Timed) inUse() uint64 {
	h := r.allocs - r.frees
	return (h + h/8 + 8191) &^ 8191
}

// mapHeap grows the heap's mapping, or takes back released pages, to hold
// what is in use.
func (r *Timed) mapHeap() {
	in := r.inUse()
	if ready := r.heapSys - r.released; in > ready {
		need := in - ready
		if need <= r.released {
			r.released -= need
		} else {
			r.heapSys += (need - r.released + 1<<20 - 1) &^ (1<<20 - 1)
			r.released = 0
		}
	}
}

// scavenge returns part of the free heap memory to the OS.
func (r *Timed) scavenge() {
	r.mapHeap()
	free := r.heapSys - r.released - r.inUse()
	r.released += free / 8
}

// Read is a reading of the runtime's metrics and of the resident memory.
func (r *Timed) Read() Reading {
	r.mapHeap()
	mapped := r.heapSys + 2<<20 + r.heapSys/32
	rss := mapped - r.released + r.outside + binary
	return Reading{
		Step: r.step, Event: len(r.events) - 1, Cycles: r.cycles, Forced: r.forced,
		Heap: r.allocs - r.frees, Live: r.live, Allocs: r.allocs, Frees: r.frees,
		GoMapped: mapped, GoReleased: r.released, RSS: rss, RSSAnon: rss - binary,
	}
}

// Goal is the heap goal the pacer set at the last mark, 0 if none.
func (r *Timed) Goal() uint64 { return r.goal }

// HeapByStack is the heap now, per stack (index 0 is unused).
func (r *Timed) HeapByStack() []int64 { return append([]int64(nil), r.heapBy...) }

// Marks is the truth at every mark termination so far: Marks()[n−1] is
// mark n.
func (r *Timed) Marks() []Mark { return r.marks }

// Events is the memory after every change so far: the heap and what is
// outside the runtime. Readings and marks give their index in it.
func (r *Timed) Events() []Held { return r.events }

// MaxHeap is the largest heap over events from to to, inclusive.
func (r *Timed) MaxHeap(from, to int) uint64 {
	var m uint64
	for i := from; i <= to && i < len(r.events); i++ {
		if i >= 0 && r.events[i].Heap > m {
			m = r.events[i].Heap
		}
	}
	return m
}
