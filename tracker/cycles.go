package tracker

import (
	"fmt"
	"os"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// fastInterval is how often the tracker polls while GC cycles follow each
// other within a few intervals, for fastFor after the last such pair.
const (
	fastInterval = time.Millisecond
	fastFor      = 200 * time.Millisecond
)

// observe samples memory, extends the timeline and, when a GC cycle has
// completed since the last call, takes and accounts a heap snapshot.
func (t *tracker) observe() {
	t.read(&t.cur)
	t.timelineAdd(t.cur)
	if t.cur.Cycles == t.lastCycle {
		t.note(t.cur)
		t.flushGCLogIfDue(t.cur)
		if t.rechecking {
			t.recheckForced()
		}
		if t.mode == following && t.acc.Outside(t.cur) {
			// Only the memory outside the heap grew since the peak: its
			// heap stands, at this later moment.
			if p, ok := t.acc.Peak(); ok {
				t.labels[p.Cycle] = "outside"
			}
			t.writePeak()
		}
		if t.outsideGrew(t.cur) {
			t.accountNow("outside")
			return
		}
		if t.peakDirty && t.since(t.peakWritten) >= t.peakGap {
			t.flushPeak()
		}
		return
	}
	t.account(t.cur.At)
}

// outsideGrew reports whether memory outside the Go heap (mmap, cgo) has
// made the process larger than at the peak found so far, by more than a
// tenth or 16 MiB, with no GC to account the heap at that moment: the heap's
// own growth starts GCs, memory outside it does not. The tracker then
// accounts the heap itself, at most every outsideEvery.
func (t *tracker) outsideGrew(r peak.Memory) bool {
	if t.mode != following || t.since(t.lastOutside) < outsideEvery {
		return false
	}
	var best, bestOutside uint64
	if p, ok := t.acc.Peak(); ok {
		best, bestOutside = p.Memory(), p.Moment().Outside()
	}
	outside := r.Outside()
	now := r.Held()
	margin := best / 10
	if margin < 16<<20 {
		margin = 16 << 20
	}
	// GOGC is read last: a read of runtime/metrics at every poll costs
	// more than the figures above.
	if now <= best+margin || outside < bestOutside+(now-best)/2 || !t.mayStartGC() {
		return false
	}
	t.lastOutside = t.now()
	if t.debug {
		fmt.Fprintf(os.Stderr, "gofil-debug: memory outside the heap grew to %d (heap %d, peak's memory %d): accounting now\n", outside, r.Heap, best)
	}
	return true
}

// outsideEvery bounds how often growth outside the heap makes the tracker
// account the heap (two GC cycles).
const outsideEvery = 200 * time.Millisecond

// readAfter is a reading taken right after a snapshot of cycle, its Now,
// or zero if another GC has ended since; and the count of forced GCs then.
func (t *tracker) readAfter(cycle uint32) (peak.Memory, uint32) {
	// Read into the tracker's own reading: a variable here would escape
	// through the source interface, an allocation per GC cycle.
	now := &t.after
	t.read(now)
	if now.Cycles != cycle {
		return peak.Memory{}, now.ForcedCycles
	}
	return *now, now.ForcedCycles
}

// note keeps r as the cycle's last reading, and as its largest if it is.
func (t *tracker) note(r peak.Memory) {
	if r.Cycles != t.lastCycle {
		return
	}
	t.end = r
	if r.Heap >= t.before.Heap {
		t.before = r
	}
}

// account takes a snapshot for the cycle just seen and feeds it to the
// accountant, with the readings of the cycle before: the one with the
// largest heap and the last.
func (t *tracker) account(seen time.Duration) {
	defer t.countOwn()
	switch {
	case t.mode == accountingOwnGC:
		t.logCycle(raw.GCLogTracker, t.cur)
		t.kicked = 0
	case t.cur.ForcedCycles != t.lastForced:
		t.logCycle(raw.GCLogForced, t.cur)
	default:
		t.logCycle(raw.GCLogCycle, t.cur)
	}
	snap, ok := t.snapshot()
	if !ok {
		return
	}
	if t.end.Heap != 0 && t.end.Cycles == t.lastCycle && t.cur.Cycles > t.lastCycle {
		// The readings either side of the first mark since the last
		// snapshot: they bound the exact heap at it.
		snap.MarkBefore, snap.MarkAfter = t.end, t.cur
	}
	if snap.Cycle == t.lastCycle+1 {
		snap.Before = t.before
		snap.End = t.end
	} else {
		// Cycles went unseen: the largest reading since the last snapshot
		// is the least the heap was across them.
		snap.Since = t.before
	}
	if snap.Cycle != t.cur.Cycles {
		seen = t.since(t.start) // another GC ran between reading and snapshot
	}
	snap.Seen = seen
	var forced uint32
	snap.Now, forced = t.readAfter(snap.Cycle)
	if snap.Cycle == t.cur.Cycles || !snap.Now.Known() {
		// Else GCs ended between the reading and the snapshot, and not
		// after it: the reading after the snapshot counts the forced ones
		// among them.
		forced = t.cur.ForcedCycles
	}
	if gap := seen - t.lastSeen; gap < 4*t.interval {
		t.fastUntil = t.now().Add(fastFor)
	}
	t.lastSeen = seen
	snap.Forced = forced != t.lastForced
	snap.ForcedEvery = forced-t.lastForced >= snap.Cycle-t.lastCycle
	t.lastForced = forced
	t.lastCycle = snap.Cycle
	t.lastEndFrees = snap.End.Frees
	t.before = peak.Memory{}
	t.end = peak.Memory{}
	t.note(t.cur)
	if t.debug {
		records := len(snap.Records)
		if snap.Counts != nil {
			records = t.acc.Table.Records()
		}
		fmt.Fprintf(os.Stderr, "gofil-debug: snapshot cycle=%d forced=%v seen=%v before.heap=%d end.live=%d end.frees=%d records=%d stacks=%d table=%d\n", snap.Cycle, snap.Forced, seen, snap.Before.Heap, snap.End.Live, snap.End.Frees, records, t.acc.Table.Stacks(), t.acc.Table.Bytes())
	}
	// The program may set runtime.MemProfileRate itself: unbias at the
	// rate in force.
	if r := t.src.Rate(); r != t.rate && r > 0 {
		t.rate = r
		t.acc.Rate = r
	}
	t.history.add(snap, t.rate)
	if t.since(t.historyWritten) >= t.historyGap && t.mode == following {
		t.writeHistory()
	}
	t.rechecking = false
	if snap.Forced {
		t.rechecking = true
		t.recheckUntil = t.now().Add(recheckFor)
		t.recheckSums = sumRecords(snap)
	}
	if t.accAdd(snap) {
		t.writePeak()
	}
}

// accAdd feeds snap to the accountant, keeps the heap at the mark it
// accounted, if any, among the moments, and reports whether it is a new
// peak.
func (t *tracker) accAdd(snap peak.Snapshot) bool {
	newPeak := t.acc.Add(snap)
	if t.acc.Paired != t.paired {
		t.paired = t.acc.Paired
		if last, ok := t.acc.Last(); ok && !last.Approximate {
			t.moments.add(last)
		}
	}
	return newPeak
}

// recheckFor is how long after a forced GC the tracker looks for the GC's
// early publication of its sweep, which lands when the sweep is over: on a
// heap of millions of objects, tens of milliseconds after the mark.
const recheckFor = 250 * time.Millisecond

// recheckForced snapshots a forced GC's cycle again and, once the profile
// has changed (the early publication has landed), gives it to the
// accountant, which then has the heap at the forced mark exactly.
func (t *tracker) recheckForced() {
	if t.now().After(t.recheckUntil) {
		t.rechecking = false
		return
	}
	snap, ok := t.snapshot()
	if !ok || snap.Cycle != t.lastCycle {
		t.rechecking = false // a new cycle: observe takes it next time
		return
	}
	sum := sumRecords(snap)
	if sum == t.recheckSums {
		return
	}
	t.rechecking = false
	snap.Forced = true
	snap.Seen = t.cur.At
	// After the snapshot, and so after the publication, which comes
	// once the sweep is over.
	snap.Now, _ = t.readAfter(snap.Cycle)
	if t.debug {
		fmt.Fprintf(os.Stderr, "gofil-debug: snapshot cycle=%d again, published early (alloc/free bytes %d/%d, before %d/%d)\n", snap.Cycle, sum[0], sum[1], t.recheckSums[0], t.recheckSums[1])
	}
	if t.accAdd(snap) {
		t.writePeak()
	}
	t.countOwn()
}

// sumRecords is a cheap fingerprint of a profile: it changes when anything
// is published.
func sumRecords(snap peak.Snapshot) [2]int64 {
	a, f := snap.Sums()
	return [2]int64{a, f}
}
