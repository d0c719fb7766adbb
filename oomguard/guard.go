package oomguard

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Defaults of the options of Start.
const (
	// DefaultThreshold is the fraction of the limit at which the first
	// trigger fires.
	DefaultThreshold = 0.9
	// DefaultInterval is how often the usage is read near the next level.
	// A job can grow by hundreds of MiB per second; at 2ms it gains at
	// most a few hundred KiB between two reads. Far below the level the
	// guard reads less often (pollDelay).
	DefaultInterval = 2 * time.Millisecond
	// DefaultMaxLevels is how many times a guard fires before it stops
	// polling. With the default threshold the levels are at 90%, 95%,
	// 97.5% and 98.75% of the limit, or above when usage jumps past them.
	DefaultMaxLevels = 4
	// DefaultMinGap is the least time between the end of one trigger and the
	// next: none. The levels already space the triggers (each needs half the
	// remaining headroom to be used up) and bound their number, while a gap
	// could suppress the last dump of a job racing to its limit.
	DefaultMinGap = time.Duration(0)
)

// Event describes one trigger.
//
//	oomguard.WithOnTrigger(func(ev oomguard.Event) {
//		log.Printf("level %d: %d of %d bytes at %v", ev.Level, ev.Usage, ev.Limit, ev.At)
//	})
type Event struct {
	// Usage is the usage read when the guard fired, in bytes.
	Usage uint64
	// Limit is the limit's Bytes.
	Limit uint64
	// Level counts the triggers of this guard: 1 for the first.
	Level int
	// At is when the guard fired.
	At time.Time
}

// Option configures Start.
//
//	g, err := oomguard.Start(oomguard.WithThreshold(0.8), oomguard.WithDir("oom"))
type Option func(*config)

type config struct {
	dir       string
	threshold float64
	interval  time.Duration
	maxLevels int
	minGap    time.Duration
	onTrigger func(Event)
	limit     *Limit
}

// WithDir names the directory the default action writes heap profiles into;
// Start creates it. It has no effect when WithOnTrigger gives an action.
//
//	g, err := oomguard.Start(oomguard.WithDir("/var/tmp/myjob-oom"))
func WithDir(dir string) Option {
	return func(c *config) { c.dir = dir }
}

// WithThreshold sets the fraction of the limit, in (0, 1], at which the first
// trigger fires. The default is DefaultThreshold (0.9).
//
//	g, err := oomguard.Start(oomguard.WithDir("oom"), oomguard.WithThreshold(0.75))
func WithThreshold(frac float64) Option {
	return func(c *config) { c.threshold = frac }
}

// ParseThreshold reads a threshold as gofil's --oom-threshold and
// GOFIL_OOM_THRESHOLD give it: a fraction strictly between 0 and 1, or
// "off" (0, no guard). ok is false for anything else.
func ParseThreshold(s string) (frac float64, ok bool) {
	if s == "off" {
		return 0, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f < 1) { // NaN fails both
		return 0, false
	}
	return f, true
}

// WithInterval sets how often the usage is read near the next level, and so
// how long after the crossing a trigger fires. Far below it the usage is
// read less often, at most ten intervals apart (see pollDelay). The default
// is DefaultInterval (2ms).
//
//	g, err := oomguard.Start(oomguard.WithDir("oom"), oomguard.WithInterval(10*time.Millisecond))
func WithInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithMaxLevels sets how many triggers a guard fires at most. The default is
// DefaultMaxLevels (4).
//
//	g, err := oomguard.Start(oomguard.WithDir("oom"), oomguard.WithMaxLevels(1))
func WithMaxLevels(n int) Option {
	return func(c *config) { c.maxLevels = n }
}

// WithMinGap sets the least time between the end of one trigger's action and
// the next trigger. The default is DefaultMinGap (none).
//
//	g, err := oomguard.Start(oomguard.WithDir("oom"), oomguard.WithMinGap(time.Second))
func WithMinGap(d time.Duration) Option {
	return func(c *config) { c.minGap = d }
}

// WithOnTrigger sets the action run at each trigger, in place of the default
// heap profile. It runs on the guard's goroutine, which does not poll while
// it runs; it must not call Stop.
//
//	g, err := oomguard.Start(oomguard.WithOnTrigger(func(ev oomguard.Event) {
//		// write what matters first, fsync it: the kill may come any moment
//	}))
func WithOnTrigger(f func(ev Event)) Option {
	return func(c *config) { c.onTrigger = f }
}

// WithLimit sets the limit to watch instead of the one DetectLimit finds.
//
//	g, err := oomguard.Start(oomguard.WithDir("oom"), oomguard.WithLimit(oomguard.Limit{
//		Bytes:     512 << 20,
//		Source:    "job budget",
//		UsagePath: "/proc/self/statm",
//	}))
func WithLimit(l Limit) Option {
	return func(c *config) { c.limit = &l }
}

// Guard polls the usage of a limit and fires when it crosses the threshold,
// then again at higher levels: after a trigger at usage u, the next fires at
// u + (limit − u)/2, so successive triggers approach the limit. Levels only go
// up; a guard stops polling after its last level.
//
//	g, err := oomguard.Start(oomguard.WithDir("oom"))
//	if err != nil {
//		return err
//	}
//	defer g.Stop()
type Guard struct {
	cfg   config
	limit Limit
	usage *usageFile

	stop     chan struct{}
	done     chan struct{}
	pause    chan chan struct{} // Pause's request: the channel that resumes
	stopOnce sync.Once
	stopErr  error

	mu  sync.Mutex
	err error // the first error met while polling or acting
}

// Start detects the limit (unless WithLimit gives one), checks that its usage
// can be read, and starts polling it on a new goroutine. There must be an
// action: WithOnTrigger, or WithDir for the default heap profile.
//
//	g, err := oomguard.Start(oomguard.WithDir("/var/tmp/myjob-oom"))
//	if err != nil {
//		log.Printf("no OOM guard: %v", err)
//	} else {
//		defer g.Stop()
//	}
func Start(opts ...Option) (*Guard, error) {
	cfg := config{
		threshold: DefaultThreshold,
		interval:  DefaultInterval,
		maxLevels: DefaultMaxLevels,
		minGap:    DefaultMinGap,
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case !(cfg.threshold > 0 && cfg.threshold <= 1):
		return nil, fmt.Errorf("oomguard: threshold %v is not in (0, 1]", cfg.threshold)
	case cfg.interval <= 0:
		return nil, fmt.Errorf("oomguard: interval %v is not positive", cfg.interval)
	case cfg.maxLevels < 1:
		return nil, fmt.Errorf("oomguard: max levels %d is less than 1", cfg.maxLevels)
	case cfg.minGap < 0:
		return nil, fmt.Errorf("oomguard: min gap %v is negative", cfg.minGap)
	case cfg.onTrigger == nil && cfg.dir == "":
		return nil, errors.New("oomguard: no action: use WithOnTrigger or WithDir")
	}

	var limit Limit
	if cfg.limit != nil {
		limit = *cfg.limit
	} else {
		l, err := DetectLimit()
		if err != nil {
			return nil, err
		}
		limit = l
	}
	if limit.Bytes == 0 {
		return nil, errors.New("oomguard: the limit is 0 bytes")
	}
	if cfg.onTrigger == nil {
		if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
			return nil, fmt.Errorf("oomguard: %w", err)
		}
	}

	u, err := openUsageFile(limit.UsagePath)
	if err != nil {
		return nil, err
	}
	if _, err := u.read(); err != nil {
		if cerr := u.close(); cerr != nil {
			return nil, fmt.Errorf("%w (closing: %v)", err, cerr)
		}
		return nil, err
	}
	g := &Guard{
		cfg:   cfg,
		limit: limit,
		usage: u,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		pause: make(chan chan struct{}),
	}
	go g.run()
	return g, nil
}

// Limit returns the limit the guard watches.
//
//	log.Printf("watching %d bytes (%s)", g.Limit().Bytes, g.Limit().Source)
func (g *Guard) Limit() Limit { return g.limit }

// Pause stops the guard's polling, timer included, until resume is closed:
// while the program is idle nothing it does can grow, and a pending timer
// would keep the runtime from seeing a deadlock. It returns at once if the
// guard has stopped.
//
//	resume := make(chan struct{})
//	g.Pause(resume)
//	...
//	close(resume)
func (g *Guard) Pause(resume chan struct{}) {
	select {
	case g.pause <- resume:
	case <-g.done:
	}
}

// Stop stops polling, waits for a running action to return, and releases the
// usage file. It returns the first error the guard met: a failed usage read,
// a failed default action, or closing the file. Later calls return the same.
// It must not be called from the action.
//
//	if err := g.Stop(); err != nil {
//		log.Print(err)
//	}
func (g *Guard) Stop() error {
	g.stopOnce.Do(func() {
		close(g.stop)
		<-g.done
		cerr := g.usage.close()
		g.mu.Lock()
		g.stopErr = g.err
		g.mu.Unlock()
		if g.stopErr == nil {
			g.stopErr = cerr
		}
	})
	return g.stopErr
}

func (g *Guard) setErr(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
}

func (g *Guard) run() {
	defer close(g.done)
	tick := time.NewTimer(g.cfg.interval)
	defer tick.Stop()

	limit := g.limit.Bytes
	next := uint64(float64(limit) * g.cfg.threshold)
	level := 0
	var lastEnd time.Time
	for {
		select {
		case <-g.stop:
			return
		case resume := <-g.pause:
			tick.Stop()
			select {
			case <-g.stop:
				return
			case <-resume:
			}
			tick.Reset(g.cfg.interval)
			continue
		case <-tick.C:
		}
		used, err := g.usage.read()
		if err != nil {
			g.setErr(err)
			tick.Reset(g.cfg.interval)
			continue
		}
		if used < next {
			tick.Reset(pollDelay(used, next, g.cfg.interval))
			continue
		}
		tick.Reset(g.cfg.interval)
		if g.cfg.minGap > 0 && !lastEnd.IsZero() && time.Since(lastEnd) < g.cfg.minGap {
			continue
		}
		level++
		g.act(Event{Usage: used, Limit: limit, Level: level, At: time.Now()})
		lastEnd = time.Now()
		if level >= g.cfg.maxLevels {
			return
		}
		next = nextLevel(used, limit)
	}
}

// growthBound is the fastest growth the guard's polling allows for, in bytes
// per millisecond: 32 GiB/s, beyond what page faults give a process on
// current hardware (a few GiB/s per core).
const growthBound = 32 << 20

// pollDelay is how long after a read of used the next is due, with next the
// usage at which the guard fires: one interval near next, longer the farther
// below it usage is, so that usage growing at growthBound would reach next
// no sooner, and at most ten intervals. Far below the limit, as most
// programs are, the guard then wakes a tenth as often: each wake-up costs
// the program a read and a pass through the scheduler.
func pollDelay(used, next uint64, interval time.Duration) time.Duration {
	if used >= next {
		return interval
	}
	d := time.Duration((next-used)/growthBound) * time.Millisecond
	switch {
	case d < interval:
		return interval
	case d > 10*interval:
		return 10 * interval
	}
	return d
}

// nextLevel returns the usage at which the guard fires after firing at used:
// halfway from used to the limit, or any growth once at or past it.
func nextLevel(used, limit uint64) uint64 {
	if used >= limit || limit-used < 2 {
		return used + 1
	}
	return used + (limit-used)/2
}

func (g *Guard) act(ev Event) {
	if g.cfg.onTrigger != nil {
		g.cfg.onTrigger(ev)
		return
	}
	if writeDump == nil {
		g.setErr(errors.New("oomguard: no dump writer in this build; use WithOnTrigger"))
		return
	}
	if err := writeDump(g.cfg.dir, g.limit, ev); err != nil {
		g.setErr(err)
	}
}

// writeDump is the default action, a heap profile written by runtime/pprof
// (dump.go). gofil's agent leaves dump.go out of its build, so that the
// profiled program links neither runtime/pprof nor the compression and
// encoding packages it pulls in, whose package initialisation allocates
// memory that would pass for the program's; it always sets WithOnTrigger.
var writeDump func(dir string, l Limit, ev Event) error
