// Package tracker is gofil's in-process agent. `gofil run` compiles it into
// the profiled program (without touching the program's files) and starts it
// by setting GOFIL_DIR in the program's environment. `gofil build` compiles
// it into a program run without gofil, in production, where GOFIL_OUT or a
// directory baked into the binary starts it (production.go). Without any of
// them, importing the package does nothing.
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/memsource"
	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/tell"
	"github.com/gofil/gofil/oomguard"
	"github.com/gofil/gofil/peak"
)

// defaultInterval is how often the tracker samples memory.
const defaultInterval = 5 * time.Millisecond

var (
	activeMu sync.Mutex
	active   *tracker
)

func init() {
	dir := os.Getenv(raw.EnvDir)
	if dir == "" {
		startProduction()
		return
	}
	interval := defaultInterval
	if s := os.Getenv(raw.EnvInterval); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			interval = d
		}
	}
	threshold := parseThreshold(os.Getenv(raw.EnvOOMThreshold), oomguard.DefaultThreshold)
	noSignals := os.Getenv(raw.EnvNoSignals) == "1"
	exitLive := os.Getenv(raw.EnvExitLive) == "1"
	restoreEnv()
	if replaced(dir) {
		os.Unsetenv(raw.EnvReportFD)
		return
	}
	tell.Open()
	if begin(dir, interval, threshold, noSignals, nil) && exitLive {
		activeMu.Lock()
		t := active
		activeMu.Unlock()
		t.mu.Lock()
		t.exitLive = true
		t.mu.Unlock()
	}
}

// begin starts the tracker (see start) and its exit hook, or says why it
// could not and returns false.
func begin(dir string, interval time.Duration, threshold float64, noSignals bool, prod *production) bool {
	t, err := start(dir, interval, threshold, noSignals, prod)
	if err != nil {
		tell.Warn("tracker not started: %v", err)
		return false
	}
	activeMu.Lock()
	active = t
	activeMu.Unlock()
	installExitHook(func() { t.finish(t.exitHow()) })
	return true
}

// restoreEnv gives the program back the environment it was started with:
// gofil's variables go, GODEBUG is what it was before gofil added the
// sampling rate (which the runtime read at start-up and keeps), and a
// LISTEN_PID that named gofil names the program, as socket activation
// would have without gofil.
func restoreEnv() {
	if g, ok := os.LookupEnv(raw.EnvUserGODEBUG); ok {
		if strings.HasPrefix(g, "set:") {
			os.Setenv("GODEBUG", g[len("set:"):])
		} else {
			os.Unsetenv("GODEBUG")
		}
	}
	if os.Getenv(raw.EnvListenPID) == "1" {
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	}
	for _, k := range []string{raw.EnvDir, raw.EnvInterval, raw.EnvOOMThreshold, raw.EnvUserGODEBUG, raw.EnvNoSignals, raw.EnvListenPID, raw.EnvExitLive} {
		os.Unsetenv(k)
	}
}

// replaced reports whether dir holds a tracker's files already. gofil
// gives every run a new directory: this process is then an image the one
// gofil started replaced itself with (syscall.Exec), which kept gofil's
// variables in its environment (a program that copied its environment
// before the tracker removed them). Its tracker does not start: the files
// are the first image's, and the descriptor gofil named was closed at the
// exec and may be the program's by now. gofil says the image was replaced.
func replaced(dir string) bool {
	_, err := os.Lstat(joinPath(dir, raw.TimelineFile))
	return err == nil
}

// MainDone is deferred first thing in the program's main, on the line of
// its opening brace, which `gofil run` adds: when main returns, the exit
// hook accounts the end; when main panics, the panic's trace is printed
// only after deferred functions ran, so the final accounting happens here;
// when main calls runtime.Goexit, the program goes on with its other
// goroutines, as without gofil.
//
//	func main() { defer tracker.MainDone(); ...
func MainDone() {
	activeMu.Lock()
	t := active
	activeMu.Unlock()
	if t == nil {
		return
	}
	switch unwinding() {
	case "runtime.gopanic":
		t.finish("panic")
	case "runtime.Goexit":
		t.mu.Lock()
		t.mainGoexit = true
		t.mu.Unlock()
	default:
		t.mu.Lock()
		t.mainReturned = true
		t.mu.Unlock()
	}
}

// unwinding names what runs the deferred call that called it: the runtime's
// panic or Goexit, found among the callers without recover, which would
// stop a panic; "" for a return.
func unwinding() string {
	var pcs [16]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" || f.Function == "runtime.Goexit" {
			return f.Function
		}
		if f.Function == "main.main" || !more {
			return ""
		}
	}
}

// tracker samples memory and accounts the heap at every GC cycle.
type tracker struct {
	dir      string
	interval time.Duration
	// now is the clock the tracker's decisions go by (how long since
	// the peak was written, until when to poll fast...): time.Now, or a
	// simulation's.
	now   func() time.Time
	start time.Time
	rate  int
	debug bool

	lifecycle
	cycleLoop
	recheck
	writer
	oomState
}

// lifecycle is how the program and the tracker stand: whether main
// returned, whether the tracker finished, and the requests and signals
// that end it. Guarded by mu where the program's goroutines reach it.
type lifecycle struct {
	requests chan request
	sigc     chan os.Signal
	// noSignals: the program does not link os/signal; see quiet.go.
	noSignals bool
	quiet     quietState

	mu           sync.Mutex
	mainReturned bool
	mainGoexit   bool // main called runtime.Goexit
	// exitLive: the end's live heap is asked for (raw.EnvExitLive).
	exitLive    bool
	finished    bool
	finishedHow string
}

// cycleLoop is the state of the loop that follows GC cycles, owned by the
// loop goroutine.
type cycleLoop struct {
	acc        peak.Accountant
	src        source
	lastCycle  uint32
	lastForced uint32
	before     peak.Memory // the reading with the largest heap while the GC count was lastCycle
	end        peak.Memory // the last reading while the GC count was lastCycle
	// lastEndFrees is what was freed before the last GC's mark, 0 if unknown.
	lastEndFrees uint64
	snapshots    int
	busy         time.Duration
	syms         symbols
	cur          peak.Memory
	after        peak.Memory // readAfter's
	window       peak.Memory
	windowEnd    time.Duration
	// timelineLines counts the timeline's lines, which set its window
	// (timeline.go).
	timelineLines int
	// lastSeen is when the last GC cycle was seen; until fastUntil the
	// tracker polls every fastInterval.
	lastSeen  time.Duration
	fastUntil time.Time
	// mode says whether the tracker is accounting the heap now
	// (accountNow), and whether the cycle being accounted is its own.
	mode accountMode
	// labels names the GC cycles the tracker started itself for a final or
	// emergency accounting: the heap at their mark is labelled so.
	labels map[uint32]string
	// lastOutside is when growth outside the heap last made the tracker
	// account it.
	lastOutside time.Time
	// resident is the resident set by kind as last read (read.go).
	resident residentState
	// own is the tracker's own bytes in the heap (ownBytes) as of its last
	// accounting, and ownInHeap whether the source's heap holds them (the
	// real runtime's does; a simulation's does not). kicked is what
	// starting the GC being accounted allocated before its mark.
	own       uint64
	ownInHeap bool
	kicked    uint64
}

// accountMode is what the loop is doing.
type accountMode uint8

const (
	// following: following the program's GC cycles.
	following accountMode = iota
	// accounting: accounting the heap as it is now (accountNow), with GC
	// cycles the tracker starts.
	accounting
	// accountingOwnGC: within accounting, the cycle being accounted is
	// one the tracker started.
	accountingOwnGC
)

// recheck is the look for a forced GC's early publication: until
// recheckUntil, while rechecking; recheckSums fingerprints its first
// snapshot.
type recheck struct {
	rechecking   bool
	recheckUntil time.Time
	recheckSums  [2]int64
}

// writer is what the tracker writes and when it last did.
type writer struct {
	// timeline is the timeline's file and its lines not written yet.
	timeline heldLines
	gcLog    *gcLog
	history  history
	moments  moments
	// historyWritten is when the leak history was last written, and
	// historyGap how long until it may be again (writeGap).
	historyWritten time.Time
	historyGap     time.Duration
	// paired is the accountant's count of heaps accounted when the last
	// was kept among the moments.
	paired int
	// peakDirty says the peak changed since peakWritten.
	peakDirty   bool
	peakWritten time.Time
	peakGap     time.Duration
}

// oomState is the OOM guard's and its emergency dumps'.
type oomState struct {
	guard   *oomguard.Guard
	dumpLog *ownfd.File
	limit   oomguard.Limit
	dumps   int
}

type request struct {
	how  string
	oom  *oomguard.Event // an emergency dump rather than the end
	done chan struct{}
}

// start starts a tracker writing into dir, sampling every interval. When
// oomThreshold is above zero, an OOM guard writes an emergency accounting
// whenever memory use crosses that fraction of the memory limit, and again
// closer to it. A program has at most one tracker: `gofil run` starts it
// through GOFIL_DIR, a production run (prod) through GOFIL_OUT or the
// directory `gofil build` baked in.
func start(dir string, interval time.Duration, oomThreshold float64, noSignals bool, prod *production) (*tracker, error) {
	t, err := newTracker(dir, interval, newRuntime())
	if err != nil {
		return nil, err
	}
	t.noSignals = noSignals
	st := raw.Start{
		EnvGOGC:       os.Getenv("GOGC"),
		EnvGOMEMLIMIT: os.Getenv("GOMEMLIMIT"),
		Version:       raw.Version,
		PID:           os.Getpid(),
		StartUnix:     t.start.UnixNano(),
		Rate:          t.rate,
		GoVersion:     runtime.Version(),
		IntervalNS:    int64(interval),
		ExitHooks:     exitHooksSupported,
		OwnModule:     ownModule(),
	}
	if prod != nil {
		st.Production, st.Program, st.Host, st.Build = true, prod.program, prod.host, prod.build
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
		t.timeline.f.Close()
		t.gcLog.held.f.Close()
		if t.guard != nil {
			t.guard.Stop()
		}
		return nil, err
	}
	// Signals the program was started ignoring stay ignored, as without
	// gofil. A program that does not link os/signal gets none caught: a
	// caught signal keeps a thread waiting, and the runtime could never
	// see a deadlock (quiet.go).
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		if !signal.Ignored(sig) && !t.noSignals {
			signal.Notify(t.sigc, sig)
		}
	}
	go t.loop()
	return t, nil
}

// newTracker makes a tracker that reads src and writes into dir, with its
// timeline open and a first snapshot accounted, but no goroutine, guard or
// signal handler yet.
func newTracker(dir string, interval time.Duration, src source) (*tracker, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	t := &tracker{
		dir:      dir,
		interval: interval,
		now:      time.Now,
		start:    time.Now(),
		rate:     src.Rate(),
		debug:    os.Getenv("GOFIL_DEBUG") != "",
	}
	t.requests = make(chan request)
	t.sigc = make(chan os.Signal, 1)
	t.quiet = newQuietState()
	t.src = src
	t.labels = make(map[uint32]string)
	t.acc.Rate = t.rate
	t.acc.Table = &peak.Table{}
	if u, ok := src.(interface{ UseTable(*peak.Table) }); ok {
		u.UseTable(t.acc.Table)
	}
	t.history.stacks = t.acc.Table
	t.moments.stacks = t.acc.Table
	_, t.ownInHeap = src.(heapSource)
	t.countOwn()
	if t.debug {
		t.acc.Trace = func(p peak.Peak) {
			fmt.Fprintf(os.Stderr, "gofil-debug: heap at mark %d: %d bytes sampled, %d unswept (exact at the mark %d, before it %d, live %d vs %d sampled, approximate %v, at least %d)\n", p.Cycle, p.Sampled, p.Unswept, p.MarkExact, p.Before.Heap, p.MarkLive, p.LiveBytes, p.Approximate, p.Least.Heap)
		}
	}
	tl, err := createFile(dir, raw.TimelineFile, raw.TimelineHead)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	t.timeline = newTimeline(tl)
	if t.gcLog, err = openGCLog(dir); err != nil {
		tl.Close()
		return nil, fmt.Errorf("gc log: %w", err)
	}
	t.read(&t.cur)
	t.logCycle(raw.GCLogStart, t.cur)
	t.lastCycle = t.cur.Cycles
	t.lastForced = t.cur.ForcedCycles
	t.before = t.cur
	t.end = t.cur
	// A first snapshot, so that the first GC's pair has a predecessor.
	// After mark 1 the regular profile is empty (the allocations before
	// mark 0): one of cycle 1 that holds anything is runtime.MemProfile
	// publishing every pending cycle, as it does when nothing was
	// published yet (a GC ran before the tracker started), or a
	// runtime.GC's early publication. Its pair would not be the heap at
	// mark 1: the next snapshot begins the pairing.
	if snap, ok := t.snapshot(); ok && snap.Cycle == t.lastCycle && !(snap.Cycle == 1 && published(snap.Records)) {
		snap.Seen = t.cur.At
		t.acc.Add(snap)
	}
	t.window = t.cur
	t.windowEnd = t.cur.At + timelineWindow
	return t, nil
}

// published reports whether a profile holds any allocation or free.
func published(rs []runtime.MemProfileRecord) bool {
	for i := range rs {
		if rs[i].AllocObjects != 0 || rs[i].FreeObjects != 0 {
			return true
		}
	}
	return false
}

func joinPath(dir, name string) string { return dir + string(os.PathSeparator) + name }

func (t *tracker) exitHow() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.mainReturned:
		return "return"
	case t.mainGoexit:
		return "exit after main's runtime.Goexit"
	}
	return "exit"
}

// finish accounts the heap as it is now and writes the final files, and
// returns when they are written. It is safe to call more than once and from
// any goroutine: a call waits for an accounting under way (after a signal,
// say) and then does nothing if the program has been finished already.
func (t *tracker) finish(how string) {
	req := request{how: how, done: make(chan struct{})}
	select {
	case t.requests <- req:
		<-req.done
	case <-time.After(30 * time.Second):
		tell.Warn("tracker did not answer at exit; the last cycle is not accounted")
	}
}

func (t *tracker) loop() {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	every := t.interval
	for {
		var tickC <-chan time.Time
		if !t.quiet.on {
			tickC = tick.C
		}
		select {
		case <-t.quiet.wake:
			if t.quiet.on {
				t.leaveQuiet()
				tick.Reset(every)
			}
		case <-tickC:
			begin := time.Now()
			t.observe()
			if t.noSignals && t.shouldQuiet(begin) {
				tick.Stop()
				t.goQuiet()
				t.busy += time.Since(begin)
				continue
			}
			t.busy += time.Since(begin)
			// GC cycles closer together than a few intervals (a heap at
			// its memory limit, say) are polled faster, so fewer of them
			// go unseen, until they are sparse again.
			want := t.interval
			if (begin.Before(t.fastUntil) || t.cur.Marking) && fastInterval < want {
				// While a GC marks, its mark termination is near: the
				// readings either side of it bound the exact heap there
				// (peak/marks.go), the closer the tighter.
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

// since is the time elapsed since then by the tracker's clock.
func (t *tracker) since(then time.Time) time.Duration { return t.now().Sub(then) }

// newRuntime is the source of a real program: the runtime, warning on the
// tracker's channel.
func newRuntime() *memsource.Runtime {
	s := memsource.New()
	s.Warn = tell.Warn
	return s
}

// ownModule is the module of the program's main package: the main module,
// or, for a program built from a module it depends on (gofil run
// pkg@version), that module.
func ownModule() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return ownModuleOf(bi)
}

// ownModuleOf is ownModule for the build information bi. A main package
// gofil built from a copy (raw.StandInElem) is its original's: the copy's
// own module, named after it, is not the program's.
func ownModuleOf(bi *debug.BuildInfo) string {
	path := bi.Path
	standIn := strings.HasSuffix(path, "/"+raw.StandInElem)
	path = strings.TrimSuffix(path, "/"+raw.StandInElem)
	best := ""
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if m == nil || m.Path == "" || len(m.Path) <= len(best) || standIn && m.Path == bi.Path {
			continue
		}
		if path == m.Path || strings.HasPrefix(path, m.Path+"/") {
			best = m.Path
		}
	}
	return best
}
