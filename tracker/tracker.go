// Package tracker is gofil's in-process agent. `gofil run` compiles it into
// the profiled program (without touching the program's files) and starts it
// by setting GOFIL_DIR in the program's environment. When GOFIL_DIR is not
// set, importing the package does nothing.
//
// While the program runs, one goroutine samples the runtime's exact memory
// figures and the process's resident memory every few milliseconds, and
// takes one consistent heap-profile snapshot per GC cycle. The peak package
// pairs the snapshots into the heap at every mark termination; the largest
// is written to the run directory whenever it changes, so that a program
// killed at any moment still leaves its peak behind. At exit (return from
// main, os.Exit, a panic in main, SIGINT or SIGTERM) the tracker forces the
// GCs that publish the last cycle and accounts it too.
//
// The package imports only the standard library and keeps to the Go 1.19
// language, so it adds nothing to the program's build.
package tracker

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/procfs"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/oomguard"
	"github.com/gofil/gofil/peak"
)

// DefaultInterval is how often the tracker samples memory.
const DefaultInterval = 5 * time.Millisecond

// fastInterval is how often the tracker polls while GC cycles follow each
// other within a few intervals, for fastFor after the last such pair.
const (
	fastInterval = time.Millisecond
	fastFor      = 200 * time.Millisecond
)

// timelineWindow is how much time one timeline line covers; each line holds
// the largest values seen in its window, so no peak falls between lines.
const timelineWindow = 20 * time.Millisecond

var (
	activeMu sync.Mutex
	active   *Tracker
)

func init() {
	dir := os.Getenv(raw.EnvDir)
	if dir == "" {
		return
	}
	interval := DefaultInterval
	if s := os.Getenv(raw.EnvInterval); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			interval = d
		}
	}
	threshold := oomguard.DefaultThreshold
	if s := os.Getenv(raw.EnvOOMThreshold); s == "off" {
		threshold = 0
	} else if s != "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1 {
			threshold = f
		}
	}
	restoreEnv()
	t, err := Start(dir, interval, threshold)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofil: tracker not started: %v\n", err)
		return
	}
	activeMu.Lock()
	active = t
	activeMu.Unlock()
	installExitHook(func() { t.Finish(t.exitHow()) })
}

// restoreEnv gives the program back the environment it was started with:
// gofil's variables go, and GODEBUG is what it was before gofil added the
// sampling rate (which the runtime read at start-up and keeps).
func restoreEnv() {
	if g, ok := os.LookupEnv(raw.EnvUserGODEBUG); ok {
		if strings.HasPrefix(g, "set:") {
			os.Setenv("GODEBUG", g[len("set:"):])
		} else {
			os.Unsetenv("GODEBUG")
		}
	}
	for _, k := range []string{raw.EnvDir, raw.EnvInterval, raw.EnvOOMThreshold, raw.EnvUserGODEBUG} {
		os.Unsetenv(k)
	}
}

// RunMain runs the program's own main function. `gofil run` renames the
// program's main to pass it here, so that a panic in main still leaves a
// final accounting behind (deferred functions run before the program dies).
//
//	func main() { tracker.RunMain(userMain) }
func RunMain(userMain func()) {
	returned := false
	defer func() {
		activeMu.Lock()
		t := active
		activeMu.Unlock()
		if t == nil {
			return
		}
		if returned {
			t.mu.Lock()
			t.mainReturned = true
			t.mu.Unlock()
			return
		}
		t.Finish("panic")
	}()
	userMain()
	returned = true
}

// Tracker samples memory and accounts the heap at every GC cycle.
type Tracker struct {
	dir      string
	interval time.Duration
	start    time.Time
	rate     int

	requests chan request
	sigc     chan os.Signal

	mu           sync.Mutex
	mainReturned bool
	finished     bool
	finishedHow  string

	// Owned by the loop goroutine.
	acc        peak.Accountant
	samples    []metrics.Sample
	statm      *os.File
	statmBuf   []byte
	pagesize   uint64
	records    []runtime.MemProfileRecord
	lastCycle  uint32
	lastForced uint32
	before     peak.Memory // the reading with the largest heap while the GC count was lastCycle
	end        reading     // the last reading while the GC count was lastCycle
	// lastEndFrees is what was freed before the last GC's mark, 0 if unknown.
	lastEndFrees uint64
	snapshots    int
	busy         time.Duration
	frameCache   map[uintptr][]raw.Frame
	cur          reading
	timeline     *os.File
	window       reading
	windowEnd    time.Duration
	// labels names the GC cycles the tracker started itself for a final or
	// emergency accounting: the heap at their mark is labelled so.
	labels  map[uint32]string
	debug   bool
	history history
	// peakDirty says the peak changed since peakWritten.
	peakDirty   bool
	peakWritten time.Time
	// recheck counts the ticks left to look for a forced GC's early
	// publication; recheckSums fingerprints its first snapshot.
	recheck     int
	recheckSums [2]int64
	guard       *oomguard.Guard
	dumpLog     *os.File
	// lastSeen is when the last GC cycle was seen; until fastUntil the
	// tracker polls every fastInterval.
	lastSeen  time.Duration
	fastUntil time.Time
	// gcSamples are what startGC reads: the GC count and its pauses.
	gcSamples []metrics.Sample
	// accounting says accountNow is under way; lastOutside is when growth
	// outside the heap last made the tracker account it.
	accounting  bool
	lastOutside time.Time
	limit       oomguard.Limit
	dumps       int
}

type request struct {
	how  string
	oom  *oomguard.Event // an emergency dump rather than the end
	done chan struct{}
}

// reading is one sample of the process's memory.
type reading struct {
	at       time.Duration
	cycles   uint32
	forced   uint32
	heap     uint64
	live     uint64 // what the last GC marked
	mapped   uint64
	released uint64
	rss      uint64
	rssAnon  uint64
	allocs   uint64 // cumulative heap bytes allocated
	frees    uint64 // cumulative heap bytes freed
}

const (
	mCycles = iota
	mForced
	mHeap
	mMapped
	mReleased
	mAllocs
	mFrees
	mLive
	nMetrics
)

// Start starts a tracker writing into dir, sampling every interval. When
// oomThreshold is above zero, an OOM guard writes an emergency accounting
// whenever memory use crosses that fraction of the memory limit, and again
// closer to it. A program has at most one tracker: `gofil run` starts it
// through GOFIL_DIR.
func Start(dir string, interval time.Duration, oomThreshold float64) (*Tracker, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	t := &Tracker{
		dir:        dir,
		interval:   interval,
		start:      time.Now(),
		rate:       runtime.MemProfileRate,
		requests:   make(chan request),
		sigc:       make(chan os.Signal, 1),
		pagesize:   uint64(os.Getpagesize()),
		statmBuf:   make([]byte, 256),
		frameCache: make(map[uintptr][]raw.Frame),
		labels:     make(map[uint32]string),
		debug:      os.Getenv("GOFIL_DEBUG") != "",
	}
	t.acc.Rate = t.rate
	if t.debug {
		t.acc.Trace = func(p peak.Peak) {
			fmt.Fprintf(os.Stderr, "gofil-debug: heap at mark %d: %d bytes sampled, %d unswept (exact at the mark %d, before it %d, live %d vs %d sampled)\n", p.Cycle, p.Sampled, p.Unswept, p.MarkExact, p.Before.Heap, p.MarkLive, p.LiveBytes)
		}
	}
	t.samples = make([]metrics.Sample, nMetrics)
	t.samples[mCycles].Name = "/gc/cycles/total:gc-cycles"
	t.samples[mForced].Name = "/gc/cycles/forced:gc-cycles"
	t.samples[mHeap].Name = "/memory/classes/heap/objects:bytes"
	t.samples[mMapped].Name = "/memory/classes/total:bytes"
	t.samples[mReleased].Name = "/memory/classes/heap/released:bytes"
	t.samples[mAllocs].Name = "/gc/heap/allocs:bytes"
	t.samples[mFrees].Name = "/gc/heap/frees:bytes"
	t.samples[mLive].Name = "/gc/heap/live:bytes"
	t.gcSamples = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/sched/pauses/total/gc:seconds"}}
	if f, err := os.Open("/proc/self/statm"); err == nil {
		t.statm = f
	}
	tl, err := os.OpenFile(joinPath(dir, raw.TimelineFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	if _, err := tl.WriteString(raw.TimelineHead); err != nil {
		tl.Close()
		return nil, fmt.Errorf("timeline: %w", err)
	}
	t.timeline = tl
	st := raw.Start{
		Version:    raw.Version,
		PID:        os.Getpid(),
		StartUnix:  t.start.UnixNano(),
		Rate:       t.rate,
		GoVersion:  runtime.Version(),
		IntervalNS: int64(interval),
		ExitHooks:  exitHooksSupported,
	}
	if oomThreshold > 0 {
		g, err := oomguard.Start(oomguard.WithThreshold(oomThreshold), oomguard.WithOnTrigger(t.onOOM))
		if err != nil {
			st.GuardError = err.Error()
		} else {
			t.guard = g
			t.limit = g.Limit()
			st.LimitBytes = t.limit.Bytes
			st.LimitSource = t.limit.Source
			st.OOMThreshold = oomThreshold
		}
	}
	if err := raw.WriteJSON(dir, raw.StartFile, &st); err != nil {
		tl.Close()
		if t.guard != nil {
			t.guard.Stop()
		}
		return nil, err
	}
	t.read(&t.cur)
	t.lastCycle = t.cur.cycles
	t.lastForced = t.cur.forced
	t.before = t.cur.memory()
	t.end = t.cur
	// A first snapshot, so that the first GC's pair has a predecessor.
	if snap, ok := t.snapshot(); ok && snap.Cycle == t.lastCycle {
		snap.Seen = t.cur.at
		t.acc.Add(snap)
	}
	t.window = t.cur
	t.windowEnd = t.cur.at + timelineWindow
	signal.Notify(t.sigc, syscall.SIGINT, syscall.SIGTERM)
	go t.loop()
	return t, nil
}

func joinPath(dir, name string) string { return dir + string(os.PathSeparator) + name }

func (t *Tracker) exitHow() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mainReturned {
		return "return"
	}
	return "exit"
}

// Finish accounts the heap as it is now and writes the final files, and
// returns when they are written. It is safe to call more than once and from
// any goroutine: a call waits for an accounting under way (after a signal,
// say) and then does nothing if the program has been finished already.
func (t *Tracker) Finish(how string) {
	req := request{how: how, done: make(chan struct{})}
	select {
	case t.requests <- req:
		<-req.done
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "gofil: tracker did not answer at exit; the last cycle is not accounted")
	}
}

func (t *Tracker) loop() {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	every := t.interval
	for {
		select {
		case <-tick.C:
			begin := time.Now()
			t.observe()
			t.busy += time.Since(begin)
			// GC cycles closer together than a few intervals (a heap at
			// its memory limit, say) are polled faster, so fewer of them
			// go unseen, until they are sparse again.
			want := t.interval
			if begin.Before(t.fastUntil) && fastInterval < want {
				want = fastInterval
			}
			if want != every {
				every = want
				tick.Reset(every)
			}
		case req := <-t.requests:
			if req.oom != nil {
				t.emergency(*req.oom)
			} else {
				t.final(req.how)
			}
			close(req.done)
		case sig := <-t.sigc:
			name := "signal " + signalName(sig)
			t.final(name)
			t.mu.Lock()
			t.finished = false // the program may go on after its own handler ran
			t.mu.Unlock()
			signal.Stop(t.sigc)
			s, ok := sig.(syscall.Signal)
			if ok && signalHandlers(s) == 0 {
				// Nobody else listens: restore the default action, which
				// ends the process by this signal as it would have without us.
				syscall.Kill(os.Getpid(), s)
			}
		}
	}
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// read fills r with the current memory figures.
func (t *Tracker) read(r *reading) {
	metrics.Read(t.samples)
	r.at = time.Since(t.start)
	r.cycles = uint32(value(t.samples[mCycles]))
	r.forced = uint32(value(t.samples[mForced]))
	r.heap = value(t.samples[mHeap])
	r.mapped = value(t.samples[mMapped])
	r.released = value(t.samples[mReleased])
	r.allocs = value(t.samples[mAllocs])
	r.frees = value(t.samples[mFrees])
	r.live = value(t.samples[mLive])
	r.rss, r.rssAnon = t.readRSS()
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// readRSS returns the resident set size and its anonymous part (resident
// minus file-backed and shared pages) from /proc/self/statm, in bytes.
func (t *Tracker) readRSS() (rss, anon uint64) {
	if t.statm == nil {
		return 0, 0
	}
	n, err := t.statm.ReadAt(t.statmBuf, 0)
	if n == 0 && err != nil {
		return 0, 0
	}
	// Fields: size resident shared text lib data dt, in pages.
	var fields [3]uint64
	b := t.statmBuf[:n]
	for i, j := 0, 0; i < len(fields) && j < len(b); i++ {
		for j < len(b) && b[j] == ' ' {
			j++
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			fields[i] = fields[i]*10 + uint64(b[j]-'0')
			j++
		}
	}
	rss = fields[1] * t.pagesize
	if fields[1] > fields[2] {
		anon = (fields[1] - fields[2]) * t.pagesize
	}
	return rss, anon
}

// observe samples memory, extends the timeline and, when a GC cycle has
// completed since the last call, takes and accounts a heap snapshot.
func (t *Tracker) observe() {
	t.read(&t.cur)
	t.timelineAdd(t.cur)
	if t.cur.cycles == t.lastCycle {
		t.note(t.cur)
		if t.recheck > 0 {
			t.recheckForced()
		}
		if t.outsideGrew(t.cur) {
			t.accountNow("outside")
			return
		}
		if t.peakDirty && time.Since(t.peakWritten) >= peakWriteEvery {
			t.flushPeak()
		}
		return
	}
	t.account(t.cur.at)
}

// outsideGrew reports whether memory outside the Go heap (mmap, cgo) has
// made the process larger than at the peak found so far, by more than a
// tenth or 16 MiB, with no GC to account the heap at that moment: the heap's
// own growth starts GCs, memory outside it does not. The tracker then
// accounts the heap itself, at most every outsideEvery.
func (t *Tracker) outsideGrew(r reading) bool {
	if t.accounting || time.Since(t.lastOutside) < outsideEvery {
		return false
	}
	var best, bestOutside uint64
	if p, ok := t.acc.Peak(); ok {
		best, bestOutside = p.Memory(), p.Moment().Outside()
	}
	outside := r.memory().Outside()
	now := r.heap + outside
	margin := best / 10
	if margin < 16<<20 {
		margin = 16 << 20
	}
	if now <= best+margin || outside < bestOutside+(now-best)/2 {
		return false
	}
	t.lastOutside = time.Now()
	if t.debug {
		fmt.Fprintf(os.Stderr, "gofil-debug: memory outside the heap grew to %d (heap %d, peak's memory %d): accounting now\n", outside, r.heap, best)
	}
	return true
}

// outsideEvery bounds how often growth outside the heap makes the tracker
// account the heap (two GC cycles).
const outsideEvery = 200 * time.Millisecond

// note keeps r as the cycle's last reading, and as its largest if it is.
func (t *Tracker) note(r reading) {
	if r.cycles != t.lastCycle {
		return
	}
	t.end = r
	if r.heap >= t.before.Heap {
		t.before = r.memory()
	}
}

func (r reading) memory() peak.Memory {
	return peak.Memory{
		At: r.at, Heap: r.heap, Live: r.live, Allocs: r.allocs, Frees: r.frees,
		RSS: r.rss, RSSAnon: r.rssAnon, GoMapped: r.mapped, GoReleased: r.released,
	}
}

// account takes a snapshot for the cycle just seen and feeds it to the
// accountant, with the readings of the cycle before: the one with the
// largest heap and the last.
func (t *Tracker) account(seen time.Duration) {
	snap, ok := t.snapshot()
	if !ok {
		return
	}
	if snap.Cycle == t.lastCycle+1 {
		snap.Before = t.before
		snap.End = t.end.memory()
	}
	if snap.Cycle != t.cur.cycles {
		seen = time.Since(t.start) // another GC ran between reading and snapshot
	}
	snap.Seen = seen
	// A reading right after the snapshot, of the same cycle, is its Now.
	var now reading
	t.read(&now)
	if now.cycles == snap.Cycle {
		snap.Now = now.memory()
	}
	if gap := seen - t.lastSeen; gap < 4*t.interval {
		t.fastUntil = time.Now().Add(fastFor)
	}
	t.lastSeen = seen
	snap.Forced = t.cur.forced != t.lastForced
	t.lastForced = t.cur.forced
	t.lastCycle = snap.Cycle
	t.lastEndFrees = snap.End.Frees
	t.before = peak.Memory{}
	t.end = reading{}
	t.note(t.cur)
	if t.debug {
		fmt.Fprintf(os.Stderr, "gofil-debug: snapshot cycle=%d forced=%v seen=%v before.heap=%d end.live=%d end.frees=%d records=%d\n", snap.Cycle, snap.Forced, seen, snap.Before.Heap, snap.End.Live, snap.End.Frees, len(snap.Records))
	}
	// The program may set runtime.MemProfileRate itself: unbias at the
	// rate in force.
	if r := runtime.MemProfileRate; r != t.rate && r > 0 {
		t.rate = r
		t.acc.Rate = r
	}
	t.history.add(snap, t.rate)
	t.recheck = 0
	if snap.Forced {
		t.recheck = recheckTicks
		t.recheckSums = sumRecords(snap.Records)
	}
	if t.acc.Add(snap) {
		t.writePeak()
	}
}

// recheckTicks is for how many ticks after a forced GC the tracker looks
// for the GC's early publication of its sweep, which lands when the sweep
// is over.
const recheckTicks = 4

// recheckForced snapshots a forced GC's cycle again and, once the profile
// has changed (the early publication has landed), gives it to the
// accountant, which then has the heap at the forced mark exactly.
func (t *Tracker) recheckForced() {
	t.recheck--
	snap, ok := t.snapshot()
	if !ok || snap.Cycle != t.lastCycle {
		t.recheck = 0 // a new cycle: observe takes it next time
		return
	}
	sum := sumRecords(snap.Records)
	if sum == t.recheckSums {
		return
	}
	t.recheck = 0
	snap.Forced = true
	snap.Seen = t.cur.at
	snap.Now = t.cur.memory()
	if t.debug {
		fmt.Fprintf(os.Stderr, "gofil-debug: snapshot cycle=%d again, published early (alloc/free bytes %d/%d, before %d/%d)\n", snap.Cycle, sum[0], sum[1], t.recheckSums[0], t.recheckSums[1])
	}
	if t.acc.Add(snap) {
		t.writePeak()
	}
}

// sumRecords is a cheap fingerprint of a profile: it changes when anything
// is published.
func sumRecords(rs []runtime.MemProfileRecord) [2]int64 {
	var s [2]int64
	for i := range rs {
		s[0] += rs[i].AllocBytes
		s[1] += rs[i].FreeBytes
	}
	return s
}

// snapshot copies runtime.MemProfile consistently: the GC count must be the
// same before and after the copy, or the copy mixes two cycles.
func (t *Tracker) snapshot() (peak.Snapshot, bool) {
	var c [1]metrics.Sample
	c[0].Name = "/gc/cycles/total:gc-cycles"
	for try := 0; try < 10; try++ {
		metrics.Read(c[:])
		before := value(c[0])
		n, ok := runtime.MemProfile(t.records, true)
		if !ok {
			t.records = make([]runtime.MemProfileRecord, n+n/4+64)
			continue
		}
		metrics.Read(c[:])
		if value(c[0]) != before {
			continue
		}
		t.snapshots++
		return peak.Snapshot{Cycle: uint32(before), Records: t.records[:n]}, true
	}
	return peak.Snapshot{}, false
}

// timelineAdd folds r into the current timeline window and writes the
// window out when it is over.
func (t *Tracker) timelineAdd(r reading) {
	w := &t.window
	if r.heap > w.heap {
		w.heap = r.heap
	}
	if r.rss > w.rss {
		w.rss = r.rss
		w.rssAnon = r.rssAnon
	}
	if r.mapped > w.mapped {
		w.mapped = r.mapped
		w.released = r.released
	}
	w.cycles = r.cycles
	if r.at < t.windowEnd {
		return
	}
	t.flushWindow(r)
}

func (t *Tracker) flushWindow(r reading) {
	w := t.window
	line := make([]byte, 0, 96)
	line = strconv.AppendInt(line, int64(r.at/time.Millisecond), 10)
	for _, v := range []uint64{w.heap, w.rss, w.mapped, w.released, uint64(w.cycles), w.rssAnon} {
		line = append(line, '\t')
		line = strconv.AppendUint(line, v, 10)
	}
	line = append(line, '\n')
	t.timeline.Write(line)
	t.window = r
	t.windowEnd = r.at + timelineWindow
}

// final accounts the last cycles and writes the exit record. It runs on the
// loop goroutine.
func (t *Tracker) final(how string) {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return
	}
	t.finished = true
	t.finishedHow = how
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
	if t.endCannotPeak() {
		t.observe()
		t.flushPeak()
	} else {
		t.accountNow(reason)
	}
	t.flushWindow(t.cur)
	if err := raw.WriteJSON(t.dir, raw.HistoryFile, t.history.file(t)); err != nil {
		fmt.Fprintf(os.Stderr, "gofil: %v\n", err)
	}
	t.busy += time.Since(begin)
	hwm, _ := procfs.HighWater("/proc/self/status")
	var children uint64
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil && ru.Maxrss > 0 {
		children = uint64(ru.Maxrss) * 1024
	}
	err := raw.WriteJSON(t.dir, raw.ExitFile, &raw.Exit{
		Version:             raw.Version,
		How:                 how,
		AtNS:                int64(time.Since(t.start)),
		Cycles:              t.cur.cycles,
		Paired:              t.acc.Paired,
		Gaps:                t.acc.Gaps,
		Snapshots:           t.snapshots,
		TrackerNS:           int64(t.busy),
		MaxRSSBytes:         hwm,
		ChildrenMaxRSSBytes: children,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofil: %v\n", err)
	}
	t.timeline.Sync()
}

// endCannotPeak reports whether, by the runtime's exact figures, the end of
// the run cannot be its peak: neither the heap at the program's last GC (at
// most everything allocated by now less what was freed before that GC's
// mark) nor the heap since, with the memory outside the heap now, comes
// within 10% of the peak found so far. The final accounting's two GC
// cycles, two marks of the live heap, are then saved.
func (t *Tracker) endCannotPeak() bool {
	p, ok := t.acc.Peak()
	if !ok || p.Approximate || p.Exact() == 0 || t.lastEndFrees == 0 {
		return false
	}
	var now reading
	t.read(&now)
	if now.cycles != t.lastCycle || now.allocs < t.lastEndFrees {
		return false
	}
	limit := p.Memory() / 10 * 9
	outside := now.memory().Outside()
	atLastGC := now.allocs - t.lastEndFrees
	return atLastGC+outside < limit && t.before.Heap+outside < limit && now.heap+outside < limit
}

// accountNow publishes the heap as it is at this moment and accounts it:
// two GC cycles are started (not with runtime.GC, whose early publication of
// sweep frees would break the pairing) and the snapshots around them paired.
// The first pair is the heap at the program's last own GC, the second the
// heap now.
func (t *Tracker) accountNow(reason string) {
	t.accounting = true
	defer func() { t.accounting = false }()
	t.observe()
	// The heap at the mark of the first GC started here is the heap now.
	t.labels[t.lastCycle+1] = reason
	for i := 0; i < 2; i++ {
		// The last reading before the mark must follow the end of the
		// sweep before it, for the exact heap at the mark.
		t.waitSwept()
		from := t.lastCycle
		seen, ok := t.startGC(from)
		if !ok {
			// Fall back to a blocking GC: its snapshot can still close the
			// pair begun before it, but cannot start one.
			runtime.GC()
			t.read(&t.cur)
			t.account(time.Since(t.start))
			t.acc.Reset()
			break
		}
		t.read(&t.cur)
		t.account(seen)
	}
	t.flushPeak()
}

// waitSwept reads memory until the cumulative frees stop moving (the sweep
// of the last GC is over), for at most sweepWait, and keeps the readings.
func (t *Tracker) waitSwept() {
	deadline := time.Now().Add(sweepWait)
	var r reading
	t.read(&r)
	t.note(r)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Microsecond)
		last := r.frees
		t.read(&r)
		t.note(r)
		if r.cycles != t.lastCycle || r.frees == last {
			return
		}
	}
}

// sweepWait bounds how long the final accounting waits for a sweep to end.
const sweepWait = 50 * time.Millisecond

// startGC starts one GC cycle the way an allocation does, by lowering the GC
// target for a moment, and waits until its mark has terminated. It returns
// when the cycle was seen and false if none started.
func (t *Tracker) startGC(from uint32) (time.Duration, bool) {
	c := t.gcSamples
	old := debug.SetGCPercent(1)
	defer debug.SetGCPercent(old)
	metrics.Read(c)
	pauses := histCount(c[1])
	var quiet time.Time // no kicks until then
	kicks := 0
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		metrics.Read(c)
		if uint32(value(c[0])) != from {
			return time.Since(t.start), true
		}
		if n := histCount(c[1]); n > pauses {
			// A stop of the world for the GC is over: most likely it has
			// started, and allocating more would only add garbage to its
			// heap. If no cycle ends soon, it was another pause: kick again.
			pauses = n
			quiet = time.Now().Add(20 * time.Millisecond)
		}
		limit := 4096
		if pauses < 0 {
			limit = 64 // without the metric, as many kicks as any start needs
		}
		if kicks < limit && time.Now().After(quiet) {
			// Large allocations always check the GC trigger; this one is
			// larger than the 64 KiB the compiler may place on the stack,
			// so it is made on the heap.
			b := make([]byte, 72<<10)
			runtime.KeepAlive(b)
			kicks++
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
	return 0, false
}

// histCount is the number of events in a histogram sample, −1 if the
// runtime does not have the metric.
func histCount(s metrics.Sample) int64 {
	if s.Value.Kind() != metrics.KindFloat64Histogram {
		return -1
	}
	var n int64
	for _, c := range s.Value.Float64Histogram().Counts {
		n += int64(c)
	}
	return n
}

// peakWriteEvery bounds how often the peak is rewritten while it keeps
// growing: a program killed meanwhile loses at most this much of it. The
// final and emergency accountings always write it.
const peakWriteEvery = 100 * time.Millisecond

// writePeak writes the peak found so far as the run's peak, now or, if it
// was written less than peakWriteEvery ago, on a later tick. Errors are
// reported on stderr: the program goes on regardless.
func (t *Tracker) writePeak() {
	t.peakDirty = true
	if time.Since(t.peakWritten) >= peakWriteEvery {
		t.flushPeak()
	}
}

// flushPeak writes the peak if it changed since it was last written.
func (t *Tracker) flushPeak() {
	if !t.peakDirty {
		return
	}
	p, ok := t.acc.Peak()
	if !ok {
		return
	}
	reason := "gc"
	if r, ok := t.labels[p.Cycle]; ok {
		reason = r
	}
	t.peakDirty = false
	t.peakWritten = time.Now()
	if err := raw.ReplaceJSON(t.dir, raw.PeakFile, t.profile(reason, p)); err != nil {
		fmt.Fprintf(os.Stderr, "gofil: write peak: %v\n", err)
	}
}

// profile turns p into the raw file form, with the memory figures of the
// sample nearest to it.
func (t *Tracker) profile(reason string, p peak.Peak) *raw.Profile {
	m := p.Moment()
	prof := &raw.Profile{
		Version:         raw.Version,
		Reason:          reason,
		Cycle:           p.Cycle,
		AtNS:            int64(peakTime(p)),
		Bytes:           p.Bytes,
		Objects:         p.Objects,
		SampledBytes:    p.Sampled,
		UnsweptBytes:    p.Unswept,
		LiveBytes:       p.LiveBytes,
		ExactBytes:      p.Exact(),
		MarkExactBytes:  p.MarkExact,
		MarkLiveBytes:   p.MarkLive,
		Approximate:     p.Approximate,
		RSSBytes:        m.RSS,
		RSSAnonBytes:    m.RSSAnon,
		GoMappedBytes:   m.GoMapped,
		GoReleasedBytes: m.GoReleased,
		Rate:            t.rate,
		Frames:          []raw.Frame{},
		Stacks:          make([]raw.Stack, 0, len(p.Stacks)),
	}
	if b, ok := t.acc.Bound(); ok && !p.Approximate && b.Memory() > p.Memory() {
		prof.BoundBytes = b.Exact()
		prof.BoundAtNS = int64(peakTime(b))
	}
	table := frameTable{t: t, index: make(map[raw.Frame]int)}
	for _, s := range p.Stacks {
		prof.Stacks = append(prof.Stacks, raw.Stack{
			Frames:      table.stack(s.PCs),
			Objects:     s.Objects,
			Bytes:       s.Bytes,
			LiveObjects: s.LiveObjects,
			LiveBytes:   s.LiveBytes,
			Truncated:   s.Truncated(),
		})
	}
	prof.Frames = append(prof.Frames, table.frames...)
	return prof
}

// frameTable symbolizes stacks into one table of distinct frames, as the
// raw files store them.
type frameTable struct {
	t      *Tracker
	index  map[raw.Frame]int
	frames []raw.Frame
}

// stack returns the table indexes of the frames of pcs, leaf first,
// inlined calls included.
func (ft *frameTable) stack(pcs []uintptr) []int {
	out := []int{}
	for _, pc := range pcs {
		for _, f := range ft.t.frames(pc) {
			i, ok := ft.index[f]
			if !ok {
				i = len(ft.frames)
				ft.index[f] = i
				ft.frames = append(ft.frames, f)
			}
			out = append(out, i)
		}
	}
	return out
}

// onOOM runs on the guard's goroutine when memory use crosses a level: it
// has the loop account the heap as it is now and waits until the emergency
// data is on disk.
func (t *Tracker) onOOM(ev oomguard.Event) {
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
func (t *Tracker) emergency(ev oomguard.Event) {
	t.mu.Lock()
	finished := t.finished
	t.mu.Unlock()
	if finished {
		return
	}
	begin := time.Now()
	t.dumps++
	var now reading
	t.read(&now)
	first := int64(0)
	if p, ok := t.acc.Last(); ok && t.writeOOM(ev, p, now, false, 0) {
		first = int64(time.Since(ev.At))
		t.noteDump(ev.Level, first, 0)
	}
	t.accountNow("oom")
	if p, ok := t.acc.Last(); ok && t.writeOOM(ev, p, now, true, first) {
		t.noteDump(ev.Level, first, int64(time.Since(ev.At)))
	}
	t.busy += time.Since(begin)
	t.timeline.Sync()
}

// writeOOM writes p as the emergency dump: refined when p is the heap at
// the moment of the trigger, else the last cycle accounted before it. now
// is the reading at the trigger; firstNS, when the first dump of this
// trigger was on disk.
func (t *Tracker) writeOOM(ev oomguard.Event, p peak.Peak, now reading, refined bool, firstNS int64) bool {
	prof := t.profile("oom", p)
	prof.LimitBytes = ev.Limit
	prof.LimitSource = t.limit.Source
	prof.UsageBytes = ev.Usage
	prof.Level = t.dumps
	prof.CrossedUnixNS = ev.At.UnixNano()
	prof.Refined = refined
	prof.TriggerHeapBytes = now.heap
	prof.TriggerRSSBytes = now.rss
	prof.FirstDumpNS = firstNS
	prof.AccountedNS = int64(time.Since(ev.At))
	if err := raw.WriteJSON(t.dir, raw.OOMFile, prof); err != nil {
		fmt.Fprintf(os.Stderr, "gofil: write emergency dump: %v\n", err)
		return false
	}
	return true
}

// noteDump appends to the dump log how long after the crossing a dump of
// the trigger at level was on disk (synced); refinedNS is 0 for the first.
// The log itself is not synced: it survives the death of the process.
func (t *Tracker) noteDump(level int, firstNS, refinedNS int64) {
	if t.dumpLog == nil {
		f, err := os.OpenFile(joinPath(t.dir, raw.DumpLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return
		}
		f.WriteString(raw.DumpLogHead)
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

// peakTime is the moment of p: its reading (the GC count is polled, so the
// mark itself is seen up to one interval late), else when the mark was seen.
func peakTime(p peak.Peak) time.Duration {
	if m := p.Moment(); m.At > 0 {
		return m.At
	}
	return p.At
}

// frames symbolizes one return address, inlined calls included, leaf first.
func (t *Tracker) frames(pc uintptr) []raw.Frame {
	if fs, ok := t.frameCache[pc]; ok {
		return fs
	}
	var fs []raw.Frame
	it := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := it.Next()
		name := f.Function
		if name == "" {
			name = "0x" + strconv.FormatUint(uint64(pc), 16)
		}
		fs = append(fs, raw.Frame{Func: name, File: f.File, Line: f.Line})
		if !more {
			break
		}
	}
	t.frameCache[pc] = fs
	return fs
}
