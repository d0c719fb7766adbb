package summary

// Moment says how a heap's moment was found, for the instant its figures
// describe: the tracker's raw.Profile.Reason, and summary.json's
// peak.moment. Moments lists every value.
type Moment string

// The moments. The first four are moments of the running program; the
// program's end follows; MomentPprof is a heap profile's.
const (
	// MomentGC is a GC's mark while the program ran.
	MomentGC Moment = "gc"
	// MomentBeforeGC is a reading before a GC's mark that held more,
	// garbage not yet swept included.
	MomentBeforeGC Moment = "before-gc"
	// MomentOutside is a GC gofil started when memory outside the heap
	// grew.
	MomentOutside Moment = "outside"
	// MomentIdle is a GC gofil started while the program was idle.
	MomentIdle Moment = "idle"
	// MomentReturn is the program's end after main returned.
	MomentReturn Moment = "return"
	// MomentExit is the program's end by os.Exit.
	MomentExit Moment = "exit"
	// MomentGoexit is the program's end after main called
	// runtime.Goexit and the last goroutine ended.
	MomentGoexit Moment = "exit after main's runtime.Goexit"
	// MomentPanic is the program's end by a panic.
	MomentPanic Moment = "panic"
	// MomentSignal is the program's end by a signal.
	MomentSignal Moment = "signal"
	// MomentOOM is a GC the OOM guard started near the memory limit.
	MomentOOM Moment = "oom"
	// MomentPprof is a heap profile's moment, the last GC before
	// runtime/pprof wrote it: not a peak.
	MomentPprof Moment = "pprof"
)

// Moments lists every Moment.
var Moments = []Moment{
	MomentGC, MomentBeforeGC, MomentOutside, MomentIdle,
	MomentReturn, MomentExit, MomentGoexit, MomentPanic, MomentSignal, MomentOOM,
	MomentPprof,
}

// WhileRunning reports whether m is a moment of the running program (a
// GC's mark, the reading before one, memory outside the heap, the program
// idle), where live and garbage mean what they say, rather than its end.
func (m Moment) WhileRunning() bool {
	switch m {
	case MomentGC, MomentBeforeGC, MomentOutside, MomentIdle:
		return true
	}
	return false
}
