// Package runner starts the profiled program as gofil's child with the
// user's stdin, stdout, stderr, environment and working directory, forwards
// signals to it, samples its resident memory from outside, and reports how
// it ended.
package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config describes one run.
type Config struct {
	Path string
	Args []string
	Env  []string // appended to the inherited environment
	// Dir is the child's working directory; empty is gofil's.
	Dir    string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Interval is how often the child's RSS is read; 0 means 10ms.
	Interval time.Duration
	// StartHook, if set, is given the function that starts the child and
	// calls it (from inside a cgroup, for example).
	StartHook func(start func() error) error
	// Reports gives the child a pipe on which the tracker reports what
	// went wrong, named in the environment: Result.Reports.
	Reports bool
	// Inherited are the descriptors gofil was started with (Inherit),
	// which the child gets at the same numbers: Inherited[i] is 3+i.
	Inherited []*os.File
	// Signals, if set, are the signals gofil receives, which Run forwards
	// to the child while it runs: the caller registered them (see
	// NotifyUnignored) and reads what comes after the child ended. If nil,
	// Run catches SIGINT, SIGTERM, SIGHUP and SIGQUIT for the child's run
	// alone.
	Signals chan os.Signal
}

// Point is one RSS reading.
type Point struct {
	At  time.Duration // since the child started
	RSS uint64
}

// Result is how the child ended.
type Result struct {
	PID      int
	Started  time.Time
	Duration time.Duration
	// ExitCode is the child's exit code, or 128+signal when a signal ended it.
	ExitCode int
	Signal   syscall.Signal // 0 unless a signal ended the child
	// MaxRSS is wait4's maxrss, in bytes: it counts what the child
	// inherited from gofil at exec and the largest of its own children.
	MaxRSS uint64
	// HighWater is the child's own resident high-water mark (VmHWM), as
	// last read while it ran; 0 if never read.
	HighWater uint64
	Timeline  []Point
	// Reports are the tracker's lines, at most maxReports.
	Reports []string
	// TrackerGone is when, since the child started, the tracker's pipe
	// closed while the child went on: the program replaced its image by
	// exec (or closed the tracker's descriptor); 0 if it did not.
	TrackerGone time.Duration
}

// Describe says in words how the child ended.
func (r Result) Describe() string {
	if r.Signal != 0 {
		return "killed by " + unix.SignalName(r.Signal)
	}
	return fmt.Sprintf("exit code %d", r.ExitCode)
}

// Run starts the child, waits for it and returns how it ended. An error
// means the child could not be started.
func Run(ctx context.Context, c Config) (Result, error) {
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	// The child dies with gofil, even by SIGKILL. The kernel sends the
	// signal when the thread that started the child ends, so this
	// goroutine keeps its thread until the child is waited for.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	// Entry i is descriptor 3+i; nil entries are closed in the child.
	cmd.ExtraFiles = append([]*os.File(nil), c.Inherited...)
	interval := c.Interval
	if interval <= 0 {
		interval = 10 * time.Millisecond
	}

	sigc := c.Signals
	if sigc == nil {
		sigc = make(chan os.Signal, 4)
		NotifyUnignored(sigc, ForwardedSignals...)
		defer signal.Stop(sigc)
	}

	var res Result
	var reports *reportPipe
	if c.Reports {
		var err error
		if reports, err = newReportPipe(cmd); err != nil {
			return res, err
		}
	}
	res.Started = time.Now()
	start := cmd.Start
	if c.StartHook != nil {
		start = func() error { return c.StartHook(cmd.Start) }
	}
	if err := start(); err != nil {
		if cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if reports != nil {
			reports.started(0)
			reports.lines()
		}
		return res, fmt.Errorf("start %s: %w", c.Path, err)
	}
	res.PID = cmd.Process.Pid
	if reports != nil {
		reports.started(res.PID)
	}
	unshield := shieldFromOOMKiller()

	done := make(chan struct{})
	var wg sync.WaitGroup
	var timeline []Point
	wg.Add(2)
	go func() {
		defer wg.Done()
		timeline, res.HighWater = sampleRSS(res.PID, res.Started, interval, done)
	}()
	terminal := isForegroundTerminal()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				cmd.Process.Signal(syscall.SIGTERM)
				return
			case sig := <-sigc:
				// A terminal delivers ^C and ^\ to the whole foreground
				// process group, the child included: forwarding them
				// would deliver them twice.
				if terminal && (sig == syscall.SIGINT || sig == syscall.SIGQUIT) {
					continue
				}
				cmd.Process.Signal(sig)
			}
		}
	}()

	err := cmd.Wait()
	res.Duration = time.Since(res.Started)
	unshield()
	if reports != nil {
		res.Reports = reports.lines()
		if at := reports.closedWhileRunning(); !at.IsZero() {
			res.TrackerGone = at.Sub(res.Started)
		}
	}
	close(done)
	wg.Wait()
	res.Timeline = timeline
	st := cmd.ProcessState
	if st == nil {
		return res, fmt.Errorf("wait: %w", err)
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSS = uint64(ru.Maxrss) * 1024
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		res.Signal = ws.Signal()
		res.ExitCode = 128 + int(ws.Signal())
	default:
		res.ExitCode = st.ExitCode()
	}
	return res, nil
}

// sampleRSS reads the child's RSS and high-water mark every interval for
// its first second, then every slowSampling intervals, until done is
// closed.
func sampleRSS(pid int, start time.Time, interval time.Duration, done <-chan struct{}) ([]Point, uint64) {
	sm, err := newSampler(pid, maxPoints)
	if err != nil {
		return nil, 0
	}
	defer sm.close()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	slow := false
	for {
		at := time.Since(start)
		sm.sample(at)
		if !slow && at >= fastSampling {
			slow = true
			tick.Reset(slowSampling * interval)
		}
		select {
		case <-done:
			return sm.series.finish(), sm.hwm
		case <-tick.C:
		}
	}
}

// fastSampling is how long gofil reads the child's memory every interval;
// after it, every slowSampling intervals. The tracker reads the program's
// memory far more often, and its high-water mark at exit: gofil's own
// readings are for a program whose tracker never ran or was killed, and
// each is a wake-up of gofil's beside a program that may need every core
// (2.5% of one, read every 10 ms).
const (
	fastSampling = time.Second
	slowSampling = 5
)

// isForegroundTerminal reports whether gofil's stdin is a terminal whose
// foreground process group is gofil's own, so that the terminal's signals
// also reach the child.
func isForegroundTerminal() bool {
	pgrp, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	return pgrp == unix.Getpgrp()
}

// ForwardedSignals are the signals gofil passes on to the program.
var ForwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// NotifyUnignored relays to c those of sigs that gofil was not started
// ignoring: one it was (nohup's SIGHUP, a background job's SIGINT) stays
// ignored, so that the program inherits it ignored, as without gofil.
// Catching it would give the program the default action.
func NotifyUnignored(c chan<- os.Signal, sigs ...os.Signal) {
	for _, sig := range sigs {
		if !signal.Ignored(sig) {
			signal.Notify(c, sig)
		}
	}
}
