package tracker

import (
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/gdump"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/tell"
)

// Quiet: when the program does not link os/signal (raw.EnvNoSignals), the
// tracker catches no signal, so SIGINT or SIGTERM ends the program with no
// final accounting. While the program is idle, the tracker therefore
// accounts the heap (moment "idle") unless it cannot be the peak, at most
// once a second at first, then less often. While every goroutine of the
// program is blocked on another it also stops its own timers and the OOM
// guard's: the runtime then sees a deadlock as it does
// without gofil ("all goroutines are asleep"), and ends the program with
// exit code 2. If the program was only waiting (on a timer's channel, say),
// the tracker starts again at the next GC.

// quietAfter is how many readings in a row must find the program idle
// before its goroutines are looked at.
const quietAfter = 3

// quietBackoffMax bounds the wait between two looks at the goroutines of a
// program idle in a way that can end (a network wait, a sleep).
const quietBackoffMax = 30 * time.Second

// quietState is the loop's view of idleness.
type quietState struct {
	on        bool
	idle      int // readings in a row with the program idle
	nextLook  time.Time
	backoff   time.Duration
	resume    chan struct{} // closed to resume the guard
	wake      chan struct{} // a GC's finalizer wakes a quiet tracker
	sched     []metrics.Sample
	dumpBytes []byte
}

func newQuietState() quietState {
	return quietState{
		wake: make(chan struct{}, 1),
		sched: []metrics.Sample{
			{Name: "/sched/goroutines/running:goroutines"},
			{Name: "/sched/goroutines/runnable:goroutines"},
			{Name: "/sched/goroutines/not-in-go:goroutines"},
		},
	}
}

// programIdle reports whether, by the scheduler's counts, no goroutine but
// the tracker's runs, none is ready to and none is in a system call or C.
// Before Go 1.26 the counts do not exist, and the program is never idle.
func (q *quietState) programIdle() bool {
	metrics.Read(q.sched)
	var n [3]uint64
	for i, s := range q.sched {
		if s.Value.Kind() != metrics.KindUint64 {
			return false
		}
		n[i] = s.Value.Uint64()
	}
	return n[0] <= 1 && n[1] == 0 && n[2] == 0
}

// shouldQuiet is called after each reading of a tracker that catches no
// signal: true when the tracker should go quiet.
func (t *tracker) shouldQuiet(now time.Time) bool {
	q := &t.quiet
	if !q.programIdle() {
		q.idle = 0
		return false
	}
	q.idle++
	if q.idle < quietAfter || now.Before(q.nextLook) {
		return false
	}
	if !t.allBlocked() {
		// Idle but waiting on something outside (the network, a sleep): a
		// server between requests. A signal it cannot catch may end it
		// now, with no final accounting: the heap is accounted unless it
		// cannot be the peak.
		q.later(now)
		t.accountIfPeak("idle")
		return false
	}
	return true
}

// later puts the next look at the goroutines off, a second at first, twice
// as long each time up to quietBackoffMax: a program idle in a way that
// ends, or woken after the tracker went quiet, is not looked at, nor
// accounted, at every reading.
func (q *quietState) later(now time.Time) {
	// The agent keeps to the Go 1.19 language: no min and max.
	q.backoff *= 2
	if q.backoff < time.Second {
		q.backoff = time.Second
	}
	if q.backoff > quietBackoffMax {
		q.backoff = quietBackoffMax
	}
	q.nextLook = now.Add(q.backoff)
}

// allBlocked reports whether every goroutine of the program, the agent's
// left aside, waits for another.
func (t *tracker) allBlocked() bool {
	q := &t.quiet
	if len(q.dumpBytes) == 0 {
		q.dumpBytes = make([]byte, 64<<10)
	}
	for {
		n := runtime.Stack(q.dumpBytes, true)
		if n < len(q.dumpBytes) {
			return gdump.BlockedForever(q.dumpBytes[:n])
		}
		if len(q.dumpBytes) >= 8<<20 {
			return false // too many goroutines to look at: not quiet
		}
		q.dumpBytes = make([]byte, 2*len(q.dumpBytes))
	}
}

// goQuiet accounts the heap as it is, unless it cannot be the peak, then
// pauses the guard and arms the wake-up for the next GC.
func (t *tracker) goQuiet() {
	if !t.accountIfPeak("idle") {
		t.observe()
		t.flushPeak()
	}
	t.writeHistory()
	t.flushHeld()
	// Should the runtime now end the program for a deadlock, this says
	// why it ended (exit code 2, no exit record).
	if err := raw.ReplaceJSON(t.dir, raw.BlockedFile, &raw.Blocked{Version: raw.Version, AtNS: int64(t.since(t.start))}); err != nil {
		tell.Warn("%v", err)
	}
	q := &t.quiet
	q.on = true
	q.resume = make(chan struct{})
	if t.guard != nil {
		t.guard.Pause(q.resume)
	}
	armWake(q.wake)
}

// leaveQuiet resumes the guard; the loop starts its timer again.
func (t *tracker) leaveQuiet() {
	q := &t.quiet
	q.on = false
	q.idle = 0
	syscall.Unlink(joinPath(t.dir, raw.BlockedFile))
	q.later(time.Now())
	close(q.resume)
}

// wakeSentinel is garbage as soon as it is made: its finalizer runs after
// the next GC. It holds a pointer, so that it is not a tiny allocation
// whose finalizer might never run.
type wakeSentinel struct{ wake chan struct{} }

func armWake(wake chan struct{}) {
	s := &wakeSentinel{wake: wake}
	runtime.SetFinalizer(s, func(s *wakeSentinel) {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	})
}
