package tracker

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gofil/gofil/internal/mprofsim"
	"github.com/gofil/gofil/peak"
)

// The README's promises about the peak, each checked on every seed of
// TestSimulatedRuntime against the simulation's truth (checkSimulated).
const (
	// invMarkExact: the runtime's exact heap at a mark (Peak.MarkExact),
	// when known, is the heap at that mark, to within 0.5% (or 32 KiB);
	// the bounds on it (Peak.MarkBounds) hold it; the live heap at the
	// mark (Peak.MarkLive) is the mark's. A figure that cannot be proven
	// is 0. The peak's heap_bytes_exact (Peak.Exact) is the heap at the
	// moment the peak names.
	invMarkExact = 1
	// invUnswept: a correction for unswept garbage (Peak.Unswept) only
	// when the heap before the mark held that much more than at it.
	invUnswept = 2
	// invStacks: each stack's bytes at an exact accounted heap are the
	// truth at its mark, exactly (every allocation is sampled), or within
	// what the README allows the kind of pair: a pair across unseen
	// cycles taken as the heap at its last mark (tightSlack), a forced
	// GC's pair that counts what the GC before it freed (Limits), the
	// correction for unswept garbage.
	invStacks = 3
	// invChoice: the peak is the largest moment the rules promise: no
	// exactly accounted heap held more, heap and outside together; or the
	// peak is approximate and its bounds are true.
	invChoice = 4
	// invTrackerGCWhileOff: the tracker starts no GC while a program with
	// its GC off runs (it may at the program's end).
	invTrackerGCWhileOff = 5
)

type failure struct {
	inv int
	msg string
}

// checker holds one run to the truth.
type checker struct {
	r      *simRun
	marks  []mprofsim.Mark
	events []mprofsim.Held
	n      int // stacks, with index 0 unused
	fs     []failure
	// kinds counts the exact heaps accounted by what they count.
	kinds map[string]int
}

func (c *checker) fail(inv int, format string, args ...interface{}) {
	c.fs = append(c.fs, failure{inv, fmt.Sprintf(format, args...)})
}

func checkSimulated(r *simRun) []failure {
	c := &checker{r: r, marks: r.rt.Marks(), events: r.rt.Events(), n: r.rt.Stacks() + 1, kinds: map[string]int{}}
	// A mark accounted twice (a forced GC's early publication seen by a
	// second snapshot) keeps the later figures: the moments and the
	// report show those.
	last := map[uint32]int{}
	for i, q := range r.offered {
		c.markExact(q)
		c.unswept(q)
		if q.Approximate {
			c.kinds["approximate"]++
		} else {
			last[q.Cycle] = i
		}
	}
	for i, q := range r.offered {
		if !q.Approximate && last[q.Cycle] == i {
			c.stacks(q)
		}
	}
	if r.havePk {
		if !r.peak.Approximate && !c.isLast(r.peak, last) {
			c.stacks(r.peak)
		}
		c.peakExact(r.peak)
		c.choice(r.peak)
	}
	for _, step := range r.src.offGCs {
		c.fail(invTrackerGCWhileOff, "the tracker started a GC at step %d while the program ran with GOGC=off", step)
	}
	r.kinds = c.kinds
	return c.fs
}

// isLast says p is the last heap accounted for its mark.
func (c *checker) isLast(p peak.Peak, last map[uint32]int) bool {
	i, ok := last[p.Cycle]
	if !ok {
		return false
	}
	q := c.r.offered[i]
	return q.Sampled == p.Sampled && q.Unswept == p.Unswept && len(q.Stacks) == len(p.Stacks)
}

// heapAt is the heap per stack at mark k; mark 0 is the tracker's first
// snapshot, taken before any GC.
func (c *checker) heapAt(k uint32) ([]int64, bool) {
	if k == 0 {
		return c.r.src.first, c.r.src.first != nil
	}
	if int(k) > len(c.marks) {
		return nil, false
	}
	return c.marks[k-1].Heap, true
}

// garbageAt is what mark k found unreachable, per stack: what its sweep
// freed.
func (c *checker) garbageAt(k uint32) []int64 {
	g := make([]int64, c.n)
	if k == 0 || int(k) > len(c.marks) {
		return g
	}
	m := c.marks[k-1]
	for s := range g {
		g[s] = m.Heap[s] - m.Live[s]
	}
	return g
}

func total(v []int64) int64 {
	var t int64
	for _, x := range v {
		t += x
	}
	return t
}

func (c *checker) bytesOf(q peak.Peak) []int64 {
	v := make([]int64, c.n)
	for _, s := range q.Stacks {
		pc := q.PCs(s)[0]
		i := int(pc)
		if i <= 0 || i >= c.n {
			c.fail(invStacks, "mark %d: a stack the program does not have: %#x", q.Cycle, pc)
			continue
		}
		v[i] += s.Bytes
	}
	return v
}

// reading is the reading m was given as, when m is one the tracker was
// given unchanged.
func (c *checker) reading(m peak.Memory) (given, bool) {
	if !m.Known() {
		return given{}, false
	}
	g, ok := c.r.src.given[keyOf(m)]
	return g, ok && g.r.Heap == m.Heap
}

func exactTol(n uint64) uint64   { return maxU(n/200, 32<<10) }
func exactWidth(n uint64) uint64 { return maxU(n/100, 64<<10) }
func tightSlack(n int64) uint64 {
	if n < 0 {
		n = 0
	}
	return maxU(uint64(n)/100, 256<<10)
}
func sameMargin(n uint64) uint64 { return maxU(n/100, 1<<20) }

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// markExact checks q's figures for the runtime's exact heap at its mark.
func (c *checker) markExact(q peak.Peak) {
	k := q.Cycle
	h, ok := c.heapAt(k)
	if q.MarkExact != 0 {
		b := q.MarkBounds
		switch {
		case k == 0 || !ok:
			c.fail(invMarkExact, "an exact heap %s at mark %d, which the program never reached", mib(int64(q.MarkExact)), k)
			return
		case !b.Known() || b.Hi-b.Lo > exactWidth(b.Hi):
			c.fail(invMarkExact, "mark %d: an exact heap %s the bounds [%s, %s] do not prove", k, mib(int64(q.MarkExact)), mib(int64(b.Lo)), mib(int64(b.Hi)))
		}
		if t := uint64(total(h)); absDiff(q.MarkExact, t) > exactTol(t) {
			c.fail(invMarkExact, "mark %d: exact heap %s, the truth is %s", k, mib(int64(q.MarkExact)), mib(int64(t)))
		}
	}
	if b := q.MarkBounds; b.Known() && k > 0 && ok {
		if t := uint64(total(h)); t < b.Lo || t > b.Hi {
			c.fail(invMarkExact, "mark %d: bounds [%s, %s] on the heap, the truth is %s", k, mib(int64(b.Lo)), mib(int64(b.Hi)), mib(int64(t)))
		}
	}
	if q.MarkLive != 0 && k > 0 && int(k) <= len(c.marks) {
		t := uint64(total(c.marks[k-1].Live))
		if f := q.LiveFrom; f > 0 && int(f) <= len(c.marks) {
			// The program's end after main returned: what its last GC
			// found reachable counts live too (Accountant.CarryLive).
			if l := uint64(total(c.marks[f-1].Live)); l > t {
				t = l
			}
		}
		if q.MarkLive != t {
			c.fail(invMarkExact, "mark %d: live heap %s, the truth is %s", k, mib(int64(q.MarkLive)), mib(int64(t)))
		}
	}
}

// peakExact checks the runtime's figure the peak gives for its moment
// (heap_bytes_exact, "runtime: ..." on stderr): the exact heap at its
// mark, or a reading's heap when it takes the moment from that reading, or
// a bound from the exact counters that counts the heap at its mark to
// within tightSlack (a pair across unseen cycles that freed next to
// nothing).
func (c *checker) peakExact(p peak.Peak) {
	e := p.Exact()
	if e == 0 || p.Approximate || p.MarkExact != 0 && p.Unswept == 0 {
		return // the exact heap at the mark is checked with every pair
	}
	if g, ok := c.reading(p.Before); ok {
		if e != g.r.Heap {
			c.fail(invMarkExact, "the peak (mark %d) says the runtime's heap was %s, its reading said %s", p.Cycle, mib(int64(e)), mib(int64(g.r.Heap)))
		}
		return
	}
	h, _ := c.heapAt(p.Cycle)
	if t := uint64(total(h)); absDiff(e, t) > tightSlack(p.Sampled)+exactTol(t) {
		c.fail(invMarkExact, "the peak (mark %d) says the runtime's heap was %s, the truth at the mark is %s", p.Cycle, mib(int64(e)), mib(int64(t)))
	}
}

// momentHeap is the true heap at the moment whose heap p gives (as
// Peak.Memory counts it): the runtime's exact heap at its mark, else a
// reading's heap (the largest before the mark), else the pair's own.
func (c *checker) momentHeap(p peak.Peak) int64 {
	if g, ok := c.figureReading(p); ok {
		return int64(g.r.Heap)
	}
	h, _ := c.heapAt(p.Cycle)
	return total(h)
}

// figureReading is the reading whose heap p is compared by, if it is one:
// the reading before the mark that held more (Unswept), or one taken
// before or after the mark whose heap is the figure (Peak.Exact, not
// held within the mark's bounds).
func (c *checker) figureReading(p peak.Peak) (given, bool) {
	if p.Unswept == 0 && (p.MarkExact != 0 || p.Exact() == 0 || p.Memory()-p.Moment().Outside() != p.Exact()) {
		return given{}, false
	}
	return c.reading(p.Before)
}

// held is the true memory at the moment q names: its heap (momentHeap)
// and what was outside the heap at its reading.
func (c *checker) held(q peak.Peak) uint64 {
	return uint64(c.momentHeap(q)) + q.Moment().Outside()
}

// unswept checks that a correction for unswept garbage was needed.
func (c *checker) unswept(q peak.Peak) {
	if q.Unswept <= 0 {
		return
	}
	k := q.Cycle
	if k == 0 || int(k) > len(c.marks) {
		c.fail(invUnswept, "a correction of %s at mark %d, which the program never reached", mib(q.Unswept), k)
		return
	}
	from := 0
	if k >= 2 {
		from = c.marks[k-2].Event
	}
	at := total(c.marks[k-1].Heap)
	most := int64(c.r.rt.MaxHeap(from, c.marks[k-1].Event))
	if most+int64(exactTol(uint64(at))) < at+q.Unswept {
		c.fail(invUnswept, "mark %d: a correction of %s for unswept garbage, but the heap before the mark held at most %s more than at it (%s)", k, mib(q.Unswept), mib(most-at), mib(at))
	}
}

// stacks checks an exact heap's stacks against the truth.
func (c *checker) stacks(q peak.Peak) {
	k := q.Cycle
	h, ok := c.heapAt(k)
	if !ok {
		c.fail(invStacks, "an exact heap at mark %d, which the program never reached", k)
		return
	}
	got := c.bytesOf(q)
	if q.Unswept > 0 {
		// The pair is the mark's exactly; the correction adds to each
		// stack part of what the sweep before the mark freed from it.
		if q.Sampled != total(h) {
			c.fail(invStacks, "exact heap at mark %d, before a correction for %s unswept: %s sampled, the truth is %s", k, mib(q.Unswept), mib(q.Sampled), mib(total(h)))
			return
		}
		g := c.garbageAt(k - 1)
		for s := range got {
			if got[s] < h[s] || got[s] > h[s]+g[s]+1 {
				c.fail(invStacks, "mark %d, corrected for %s unswept: stack %d holds %s, the truth at the mark is %s and the sweep before freed %s of it", k, mib(q.Unswept), s, mib(got[s]), mib(h[s]), mib(g[s]))
				return
			}
		}
		// Up to the runtime's figure at the reading: exactly that, to
		// within what the exact heap at the mark is off by, when that is
		// known; less when the correction rests on the most the heap at
		// the mark can have been.
		if g, ok := c.reading(q.Before); ok {
			sum := uint64(total(got))
			tol := exactTol(uint64(total(h))) + uint64(c.n)
			if sum > g.r.Heap+tol || q.MarkExact != 0 && absDiff(sum, g.r.Heap) > tol {
				c.fail(invStacks, "mark %d: corrected to %s, the heap at the reading before the mark was %s", k, mib(total(got)), mib(int64(g.r.Heap)))
			}
		}
		c.kinds["unswept"]++
		return
	}
	if equalBytes(got, h) {
		c.kinds["exact"]++
		return
	}
	// A forced GC's pair, published early, after a snapshot that did not
	// see the sweep before it: it also counts what that sweep freed
	// (README, Limits).
	if k > 0 && int(k) <= len(c.marks) && c.marks[k-1].By == mprofsim.ByProgram {
		g := c.garbageAt(k - 1)
		want := make([]int64, c.n)
		for s := range want {
			want[s] = h[s] + g[s]
		}
		if equalBytes(got, want) {
			c.kinds["forced, with the sweep before"]++
			return
		}
	}
	// Taken as the heap at its mark, or at a reading, to within
	// tightSlack (README): a pair across unseen cycles, or to a forced
	// mark right after this one. Stack by stack, it is off by no more
	// than that in all.
	tol := tightSlack(q.Sampled) + uint64(3*sqrt(float64(q.Sampled)))
	within := func(truth []int64) bool {
		var off int64
		for s := range got {
			if got[s] < truth[s] {
				off += truth[s] - got[s]
			} else {
				off += got[s] - truth[s]
			}
		}
		return uint64(off) <= tol
	}
	if within(h) {
		c.kinds["within tightSlack of its mark"]++
		return
	}
	if g, ok := c.reading(q.Before); ok && !q.Mark.Known() && within(g.stack) {
		c.kinds["within tightSlack of a reading"]++
		return
	}
	var diffs []string
	for s := range got {
		if got[s] != h[s] {
			diffs = append(diffs, fmt.Sprintf("stack %d %s (truth %s)", s, mib(got[s]), mib(h[s])))
		}
	}
	c.fail(invStacks, "exact heap at mark %d: %s sampled, the truth is %s (%s): %s", k, mib(q.Sampled), mib(total(h)), c.explain(got), strings.Join(diffs, ", "))
}

// explain says what a pair's stacks count, in the runtime's terms: the
// allocations before one mark less the frees of the sweeps up to another.
func (c *checker) explain(got []int64) string {
	for a := len(c.marks); a >= 1; a-- {
		for j := a - 1; j >= 0; j-- {
			ok := true
			for s := range got {
				if got[s] != c.marks[a-1].Allocated[s]-c.marks[j].Freed[s] {
					ok = false
					break
				}
			}
			if ok {
				return fmt.Sprintf("it counts the allocations before mark %d less the frees of the sweeps up to %d", a, j)
			}
		}
	}
	return "it counts no allocations before a mark less frees before another"
}

func equalBytes(a, b []int64) bool {
	for s := range a {
		if a[s] != b[s] {
			return false
		}
	}
	return true
}

func sqrt(x float64) float64 {
	if x <= 0 {
		return 0
	}
	z := x
	for i := 0; i < 60; i++ {
		z = (z + x/z) / 2
	}
	return z
}

// choice checks that the peak is the largest moment the rules promise.
// The tracker compares its own figures, each within what the README allows
// it of the truth (figureTol); a reading among unseen cycles must hold more
// than the peak by sameMargin to replace it.
func (c *checker) choice(p peak.Peak) {
	if p.Approximate {
		c.approximate(p)
		return
	}
	ph := c.held(p)
	for _, q := range c.r.offered {
		if q.Approximate {
			if _, ok := c.reading(q.Least); ok && q.Least.Held() > ph+sameMargin(p.Memory())+c.figureTol(p) {
				c.fail(invChoice, "a reading among unseen cycles (before mark %d) found %s held, more than the peak at mark %d, %s", q.Cycle, mib(int64(q.Least.Held())), p.Cycle, mib(int64(ph)))
				return
			}
			continue
		}
		if qh := c.held(q); qh > ph+c.figureTol(p)+c.figureTol(q) {
			c.fail(invChoice, "the heap at mark %d, with what was outside it, held %s, more than the peak at mark %d, %s (the tracker's figures: %s against %s)", q.Cycle, mib(int64(qh)), p.Cycle, mib(int64(ph)), mib(int64(q.Memory())), mib(int64(p.Memory())))
			return
		}
	}
}

// figureTol is how far from the truth the README lets the heap figure q
// is compared by be: none for a reading's, 0.5% for the exact heap at a
// mark, tightSlack for a pair taken as the heap at its mark.
func (c *checker) figureTol(q peak.Peak) uint64 {
	_, reading := c.figureReading(q)
	switch b := q.MarkBounds; {
	case reading:
		return 0
	case q.MarkExact != 0:
		return exactTol(q.MarkExact)
	case b.Known() && q.Exact() != 0 && q.Memory()-q.Moment().Outside() != q.Exact():
		// Held within the mark's bounds.
		return b.Hi - b.Lo
	}
	return tightSlack(q.Sampled) + uint64(3*sqrt(float64(q.Sampled)))
}

// approximate checks an approximate peak: a true least, true upper
// bounds, and no exact heap above them.
func (c *checker) approximate(p peak.Peak) {
	k := p.Cycle
	if int(k) > len(c.marks) || k == 0 {
		c.fail(invChoice, "an approximate peak at mark %d, which the program never reached", k)
		return
	}
	from := k
	start := c.marks[k-1].Event
	if p.Least.Known() {
		g, ok := c.reading(p.Least)
		if !ok {
			c.fail(invChoice, "the approximate peak's least (%s) is no reading the tracker was given", mib(int64(p.Least.Heap)))
			return
		}
		if g.r.Cycles >= k {
			c.fail(invChoice, "the approximate peak's least was read after its last mark %d (GC count %d)", k, g.r.Cycles)
		}
		from, start = g.r.Cycles+1, g.r.Event
	}
	got := c.bytesOf(p)
	for j := from; j <= k; j++ {
		h, _ := c.heapAt(j)
		for s := range got {
			if got[s] < h[s] {
				c.fail(invChoice, "the approximate peak gives stack %d %s, less than it held at mark %d (%s): no upper bound", s, mib(got[s]), j, mib(h[s]))
				return
			}
		}
	}
	if e := p.Exact(); e != 0 {
		if most := c.r.rt.MaxHeap(start, c.marks[k-1].Event); most > e {
			c.fail(invChoice, "the approximate peak says the runtime's heap was at most %s, but it reached %s before mark %d", mib(int64(e)), mib(int64(most)), k)
		}
	}
	// The approximate peak says the process held at least Least, and at
	// most its bound: an exact heap that held more than both was larger.
	pm := maxU(p.Memory(), p.Least.Held())
	for _, q := range c.r.offered {
		if !q.Approximate {
			if qh := c.held(q); qh > pm+sameMargin(pm) {
				c.fail(invChoice, "the heap at mark %d, with what was outside it, held %s, more than the approximate peak (mark %d) at most %s, at least %s", q.Cycle, mib(int64(qh)), k, mib(int64(p.Memory())), mib(int64(p.Least.Held())))
				return
			}
		}
	}
}

// simStats sums what the seeds exercised.
type simStats struct {
	seeds, steps, marks, forced, byTracker, polls, offered int
	off, limit, approxPeaks, exactKnown                    int
	kinds                                                  map[string]int
}

func (st *simStats) add(r *simRun) {
	if st.kinds == nil {
		st.kinds = map[string]int{}
	}
	st.seeds++
	st.steps += r.rt.Now()
	for _, m := range r.rt.Marks() {
		st.marks++
		switch m.By {
		case mprofsim.ByProgram:
			st.forced++
		case mprofsim.ByTracker:
			st.byTracker++
		}
	}
	st.polls += r.polls
	st.offered += len(r.offered)
	if r.rt.GOGC < 0 && r.rt.Limit == 0 {
		st.off++
	}
	if r.rt.Limit > 0 {
		st.limit++
	}
	if r.havePk && r.peak.Approximate {
		st.approxPeaks++
	}
	if r.havePk && r.peak.MarkExact != 0 {
		st.exactKnown++
	}
	for k, v := range r.kinds {
		st.kinds[k] += v
	}
}

func (st simStats) String() string {
	var kinds []string
	for k, v := range st.kinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d steps, %d GC cycles (%d forced by the program, %d started by the tracker), %d polls; %d with the GC off, %d with a limit; %d heaps accounted (%s); %d peaks approximate, %d with the exact heap at their mark known",
		st.steps, st.marks, st.forced, st.byTracker, st.polls, st.off, st.limit, st.offered, strings.Join(kinds, ", "), st.approxPeaks, st.exactKnown)
}
