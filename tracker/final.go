package tracker

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/procfs"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/tell"
	"github.com/gofil/gofil/oomguard"
	"github.com/gofil/gofil/peak"
)

// final accounts the last cycles and writes the exit record. It runs on the
// loop goroutine.
func (t *tracker) final(how string) {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return
	}
	t.finished = true
	t.finishedHow = how
	exitLive := t.exitLive
	t.mu.Unlock()
	signalled := strings.HasPrefix(how, "signal")
	if t.guard != nil && !signalled { // after a signal the program may go on
		// Stop waits for a dump under way, which waits for this goroutine:
		// let it finish on its own.
		go t.guard.Stop()
	}

	begin := time.Now()
	reason := how
	if signalled {
		reason = "signal"
	}
	if t.rechecking {
		// The program's own last GC returned before it ended: its early
		// publication is in by now.
		t.recheckForced()
	}
	var end peak.Memory
	t.read(&end)
	t.residentNow(&end) // the memory at the end may be the most held
	t.logCycle(raw.GCLogEnd, end)
	if !t.accountIfPeak(reason) {
		t.observe()
		t.flushPeak()
	}
	t.flushWindow(t.cur)
	t.writeHistory()
	t.busy += time.Since(begin)
	hwm, _ := procfs.HighWater("/proc/self/status")
	var children uint64
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil && ru.Maxrss > 0 {
		children = uint64(ru.Maxrss) * 1024
	}
	var liveAtExit uint64
	if exitLive {
		// After the accounting, whose GCs this one does not disturb: what
		// it marks is what the program held at its end.
		runtime.GC()
		var m peak.Memory
		t.read(&m)
		liveAtExit = m.Live
	}
	err := raw.WriteJSON(t.dir, raw.ExitFile, &raw.Exit{
		Version:             raw.Version,
		How:                 how,
		AtNS:                int64(time.Since(t.start)),
		Cycles:              t.cur.Cycles,
		Paired:              t.acc.Paired,
		Gaps:                t.acc.Gaps,
		Snapshots:           t.snapshots,
		TrackerNS:           int64(t.busy),
		MaxRSSBytes:         hwm,
		ChildrenMaxRSSBytes: children,
		LiveAtExitBytes:     liveAtExit,
	})
	if err != nil {
		tell.Warn("%v", err)
	}
	t.flushHeld()
	t.timeline.f.Sync()
	t.gcLog.held.f.Sync()
}

// endCannotPeak reports whether, by the runtime's exact figures, the end of
// the run cannot be its peak: neither the heap at the program's last GC
// (unless accounted already, at most everything allocated by now less what
// was freed before that GC's mark) nor the heap since, with the memory outside the heap now, comes
// within 10% of the peak found so far. The final accounting's two GC
// cycles, two marks of the live heap, are then saved.
func (t *tracker) endCannotPeak() bool {
	p, ok := t.acc.Peak()
	if !ok || p.Approximate || p.Exact() == 0 || t.lastEndFrees == 0 {
		return false
	}
	var now peak.Memory
	t.read(&now)
	if now.Cycles != t.lastCycle || now.Allocs < t.lastEndFrees {
		return false
	}
	limit := p.Memory() / 10 * 9
	outside := now.Outside()
	atLastGC := now.Allocs - t.lastEndFrees
	if last, ok := t.acc.Last(); ok && last.Cycle == t.lastCycle && !last.Approximate {
		// The last GC's mark is accounted already (a forced GC, seen
		// published): only the heap since is left to account.
		atLastGC = 0
	}
	if t.debug {
		fmt.Fprintf(os.Stderr, "gofil-debug: end: at the last GC at most %d, since %d, now %d, outside %d; the peak's %d\n", atLastGC, t.before.Heap, now.Heap, outside, p.Memory())
	}
	// Peaks are compared without the tracker's own, which each heap
	// figure here holds.
	limit += now.Own
	return atLastGC+outside < limit && t.before.Heap+outside < limit && now.Heap+outside < limit
}

// accountIfPeak accounts the heap as it is now, as reason, unless by the
// runtime's exact figures it cannot be the peak (endCannotPeak); it reports
// whether it did.
func (t *tracker) accountIfPeak(reason string) bool {
	if t.endCannotPeak() || reason == "idle" && !t.mayStartGC() {
		return false
	}
	t.accountNow(reason)
	return true
}

// mayStartGC reports whether the tracker may start a GC while the program
// runs: not when the program turned its GC off (GOGC=off,
// debug.SetGCPercent(-1)), which it did for its speed or its memory: a GC
// the profiler starts would change both, and the peak it measures. The
// program's end is accounted all the same, after it ended.
func (t *tracker) mayStartGC() bool {
	return t.src.GCPercent() >= 0
}

// accountNow publishes the heap as it is at this moment and accounts it:
// two GC cycles are started (not with runtime.GC, whose early publication of
// sweep frees would break the pairing) and the snapshots around them paired.
// The first pair is the heap at the program's last own GC, the second the
// heap now.
func (t *tracker) accountNow(reason string) {
	t.mode = accounting
	defer func() { t.mode = following }()
	t.observe()
	// The heap at the mark of the first GC started here is the heap now.
	t.labels[t.lastCycle+1] = reason
	for i := 0; i < 2; i++ {
		if i == 1 && reason == "return" {
			// The heap at the second pair's mark is the end's, after
			// main returned: its reachability is the program's last GC.
			t.acc.CarryLive()
		}
		// The last reading before the mark must follow the end of the
		// sweep before it, for the exact heap at the mark.
		t.waitSwept()
		from := t.lastCycle
		ok := t.src.StartGC(from)
		seen := t.since(t.start)
		if mr, isMR := t.src.(markReader); isMR && ok {
			if r, at, marked := mr.Marking(); marked && r.Cycles == from {
				// The last reading before the mark, taken as it marked:
				// its Own is what starting the GC allocated, garbage in
				// the heap at the mark.
				t.kicked = r.Own
				r.At = at.Sub(t.start)
				r.Resident = t.resident.last
				r.Own += t.own
				t.note(r)
			}
		}
		t.mode = accountingOwnGC
		if !ok {
			// Fall back to a blocking GC: its snapshot can still close the
			// pair begun before it, but cannot start one.
			runtime.GC()
			t.read(&t.cur)
			t.account(t.since(t.start))
			t.mode = accounting
			t.acc.Reset()
			break
		}
		t.read(&t.cur)
		t.account(seen)
		t.mode = accounting
	}
	t.flushPeak()
}

// waitSwept reads memory until the cumulative frees stop moving (the sweep
// of the last GC is over), for at most sweepWait, and keeps the readings.
func (t *tracker) waitSwept() {
	deadline := time.Now().Add(sweepWait)
	var r peak.Memory
	t.read(&r)
	t.note(r)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Microsecond)
		last := r.Frees
		t.read(&r)
		t.note(r)
		if r.Cycles != t.lastCycle || r.Frees == last {
			return
		}
	}
}

// sweepWait bounds how long the final accounting waits for a sweep to end.
const sweepWait = 50 * time.Millisecond

// onOOM runs on the guard's goroutine when memory use crosses a level: it
// has the loop account the heap as it is now and waits until the emergency
// data is on disk.
func (t *tracker) onOOM(ev oomguard.Event) {
	req := request{how: "oom", oom: &ev, done: make(chan struct{})}
	select {
	case t.requests <- req:
		<-req.done
	case <-time.After(10 * time.Second):
	}
}

// emergency writes, with the limit, what is known of the heap at once: the
// last GC cycle accounted and the runtime's exact figures now, synced to
// the OOM file within milliseconds. Then it accounts the heap as it is now,
// which takes two GC cycles, and writes the file again, refined. The
// program carries on.
func (t *tracker) emergency(ev oomguard.Event) {
	t.mu.Lock()
	finished := t.finished
	t.mu.Unlock()
	if finished {
		return
	}
	begin := time.Now()
	t.dumps++
	var now peak.Memory
	t.read(&now)
	t.residentNow(&now) // the ledger at the trigger itself
	first := int64(0)
	if p, ok := t.acc.Last(); ok && t.writeOOM(ev, p, now, false, 0) {
		first = int64(time.Since(ev.At))
		t.noteDump(ev.Level, first, 0)
	}
	if t.mayStartGC() {
		t.accountNow("oom")
		if p, ok := t.acc.Last(); ok && t.writeOOM(ev, p, now, true, first) {
			t.noteDump(ev.Level, first, int64(time.Since(ev.At)))
		}
	}
	t.flushHeld()
	t.busy += time.Since(begin)
	t.timeline.f.Sync()
}

// writeOOM writes p as the emergency dump: refined when p is the heap at
// the moment of the trigger, else the last cycle accounted before it. now
// is the reading at the trigger; firstNS, when the first dump of this
// trigger was on disk.
func (t *tracker) writeOOM(ev oomguard.Event, p peak.Peak, now peak.Memory, refined bool, firstNS int64) bool {
	prof := t.profile("oom", p)
	prof.LimitBytes = ev.Limit
	prof.LimitSource = t.limit.Source
	prof.UsageBytes = ev.Usage
	prof.Level = t.dumps
	prof.CrossedUnixNS = ev.At.UnixNano()
	prof.Refined = refined
	prof.TriggerHeapBytes = now.Heap
	prof.TriggerRSSBytes = now.RSS
	prof.FirstDumpNS = firstNS
	prof.Ledger = ledgerOf(now)
	prof.AccountedNS = int64(time.Since(ev.At))
	if err := raw.WriteJSON(t.dir, raw.OOMFile, prof); err != nil {
		tell.Warn("write emergency dump: %v", err)
		return false
	}
	return true
}

// noteDump appends to the dump log how long after the crossing a dump of
// the trigger at level was on disk (synced); refinedNS is 0 for the first.
// The log itself is not synced: it survives the death of the process.
func (t *tracker) noteDump(level int, firstNS, refinedNS int64) {
	if t.dumpLog == nil {
		// The run directory is private; a file or symlink already there
		// was not made by this tracker, and is neither followed nor
		// written.
		f, err := createFile(t.dir, raw.DumpLogFile, raw.DumpLogHead)
		if err != nil {
			tell.Warn("dump log: %v", err)
			return
		}
		t.dumpLog = f
	}
	line := strconv.AppendInt(nil, int64(level), 10)
	line = append(line, '\t')
	line = strconv.AppendInt(line, firstNS, 10)
	line = append(line, '\t')
	line = strconv.AppendInt(line, refinedNS, 10)
	line = append(line, '\n')
	t.dumpLog.Write(line)
}

// historyWriteEvery is how often the leak history is written while the program
// runs: a program killed by a signal it does not catch, or by SIGKILL,
// still leaves what its GC cycles showed up to a few seconds before. A
// history that takes long to write is written less often (writeGap).
const historyWriteEvery = 2 * time.Second

// writeHistory writes the leak history and the moments as they are.
func (t *tracker) writeHistory() {
	t.historyWritten = t.now()
	if err := raw.WriteJSON(t.dir, raw.HistoryFile, t.history.file(t)); err != nil {
		tell.Warn("%v", err)
	}
	// Not synced, as the peak is not: it is rewritten every few seconds.
	if err := raw.ReplaceJSON(t.dir, raw.MomentsFile, t.moments.stream(t)); err != nil {
		tell.Warn("%v", err)
	}
	t.historyGap = writeGap(historyWriteEvery, t.since(t.historyWritten))
}
