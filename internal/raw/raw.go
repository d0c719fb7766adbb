// Package raw defines the files the in-process tracker writes into a run
// directory and gofil reads back after the program has gone.
//
// It is compiled into the profiled program, so it imports only the standard
// library and keeps to the Go 1.19 language. Every JSON file is written
// whole to a temporary name and renamed, so a reader never sees half a file
// even when the program is killed mid-write; WriteJSON syncs it first, so
// that it also survives a crash of the machine, ReplaceJSON (for files
// rewritten often) does not. timeline.tsv and oom-times.tsv are appended
// to, a line at a time. The files are JSON, encoded
// without encoding/json (see encode.go); gofil reads them with it.
package raw

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
)

// Environment variables the tracker reads.
// AgentModule is the module path of the agent's packages, and
// AgentPackages the packages compiled into the profiled program: the
// tracker and what it imports. `gofil run` compiles them under a module
// path of their own (gofil.AgentModule), rewriting every string literal
// that names gofil's module, this one included, so that in the program
// they name the agent's packages as compiled there.
const AgentModule = "github.com/gofil/gofil"

var AgentPackages = []string{
	AgentModule + "/tracker",
	AgentModule + "/peak",
	AgentModule + "/oomguard",
	AgentModule + "/internal/raw",
	AgentModule + "/internal/privdir",
	AgentModule + "/internal/procfs",
	AgentModule + "/internal/ownfd",
	AgentModule + "/internal/memsource",
	AgentModule + "/internal/rundirs",
	AgentModule + "/internal/tell",
	AgentModule + "/internal/gdump",
}

const (
	// EnvDir names the run directory `gofil run` made; the tracker starts
	// when it is set.
	EnvDir = "GOFIL_DIR"
	// EnvOut names the directory a program built by `gofil build` makes
	// its run directory in, one per process, when no gofil runs it (in
	// production); it overrides the directory `gofil build --out` baked
	// in. Without GOFIL_DIR, EnvOut or a baked-in directory, the tracker
	// does not start.
	EnvOut = "GOFIL_OUT"
	// EnvKeep is how many run directories of the program a production run
	// keeps in EnvOut, its own among them ("20"); it overrides `gofil
	// build --keep`. "0" keeps all.
	EnvKeep = "GOFIL_KEEP"
	// EnvInterval is the sampling interval as a Go duration ("5ms").
	EnvInterval = "GOFIL_INTERVAL"
	// EnvOOMThreshold is the fraction of the memory limit at which the
	// tracker writes an emergency dump ("0.9"); "off" disables the guard.
	EnvOOMThreshold = "GOFIL_OOM_THRESHOLD"
	// EnvUserGODEBUG carries the program's own GODEBUG, which gofil extends
	// with memprofilerate: "set:VALUE", or "unset". The tracker puts it back
	// once the runtime has read the rate.
	EnvUserGODEBUG = "GOFIL_USER_GODEBUG"
	// EnvReportFD is the file descriptor on which the tracker reports
	// what went wrong (a file it could not write), one line each, for
	// gofil to say on its own stderr.
	EnvReportFD = "GOFIL_REPORT_FD"
	// EnvNoSignals, set to 1, says that the program does not link
	// os/signal: the tracker then catches no signal (catching one would
	// keep the runtime from ever seeing a deadlock) and, while the program
	// is blocked, stops its own timers, so that a deadlock ends the
	// program as it does without gofil.
	EnvNoSignals = "GOFIL_NO_SIGNALS"
	// EnvListenPID, set to 1, says that LISTEN_PID named gofil's own pid:
	// socket activation (systemd, systemd-socket-activate) passed its
	// sockets to gofil, which passed them on at the same numbers. The
	// tracker makes LISTEN_PID the program's pid, which it is without
	// gofil.
	EnvListenPID = "GOFIL_LISTEN_PID"
	// EnvExitLive, set to 1, asks the tracker for the live heap at the
	// program's end: after its final accounting it runs one more GC and
	// writes what that GC marked in Exit.LiveAtExitBytes. `gofil test`
	// sets it; the GC costs a program's end its time, so `gofil run` does
	// not.
	EnvExitLive = "GOFIL_EXIT_LIVE"
)

// SubDir is the directory the tracker writes into inside a report
// directory: `gofil run` names it in EnvDir, a production run makes it.
const SubDir = "raw"

// RunLock is the file in a production run directory (beside SubDir) that
// the process writing the directory holds locked (flock(2), exclusive)
// while it lives: a process pruning old run directories leaves a locked
// one alone. The kernel lets the lock go when the process ends, however it
// ends.
const RunLock = ".gofil-lock"

// StandInElem is the element gofil's build adds to the import path of a
// main package it builds from a copy (a command of a dependency, a
// pkg@version): the copy's path and module path in the binary's build
// information end with it.
const StandInElem = "gofil_main"

// Names of the files in a run directory.
const (
	PeakFile     = "peak.json"     // the heap at its largest mark termination
	ExitFile     = "exit.json"     // how the program ended, as the tracker saw it
	BlockedFile  = "blocked.json"  // every goroutine of the program waits for another: a deadlock, unless a timer wakes it
	TimelineFile = "timeline.tsv"  // one line per sampling window, appended
	OOMFile      = "oom.json"      // the latest emergency dump, see oomguard
	StartFile    = "tracker.json"  // written once when the tracker starts
	HistoryFile  = "history.json"  // in-use heap per stack over the run, for leak hunting
	DumpLogFile  = "oom-times.tsv" // when each emergency dump was on disk, appended
	DumpLogHead  = "# level\tfirst_dump_ns\trefined_dump_ns\n"
	MomentsFile  = "moments.json" // the heap per stack at GC marks spread over the run
	GCLogFile    = "gc.tsv"       // a line per GC cycle seen, for the pacer's replay, appended
	GCLogHead    = "# kind\tcycle\tt_us\tallocs_bytes\tlive_bytes\theap_bytes\tgoal_bytes\tstacks_bytes\tglobals_bytes\tnonheap_bytes\tgogc\tlimit_bytes\town_bytes\n"
	TimelineHead = "# t_ms\theap_bytes\trss_bytes\tgo_mapped_bytes\tgo_released_bytes\tgc_cycles\trss_anon_bytes\theap_free_unused_bytes\tstacks_bytes\truntime_bytes\n"
)

// Kinds of line in GCLogFile: the tracker's start, a cycle the runtime
// started, one the program forced (runtime.GC), one the tracker started to
// account the heap, and the end of the program, before the final
// accounting.
const (
	GCLogStart   = 's'
	GCLogCycle   = 'g'
	GCLogForced  = 'f'
	GCLogTracker = 't'
	GCLogEnd     = 'e'
)

// Version is the format version written in every JSON file.
const Version = 1

// Frame is one symbolized stack frame.
type Frame struct {
	Func string `json:"func"`
	File string `json:"file"`
	Line int    `json:"line"`
}

// Stack is one allocation stack's share of a heap.
type Stack struct {
	Frames      []int `json:"frames"` // indexes into Profile.Frames, leaf first
	Objects     int64 `json:"objects"`
	Bytes       int64 `json:"bytes"`
	LiveObjects int64 `json:"live_objects"`
	LiveBytes   int64 `json:"live_bytes"`
	Truncated   bool  `json:"truncated,omitempty"`
}

// Profile is the heap at one moment, attributed to allocation stacks.
type Profile struct {
	Version int `json:"version"`
	// Reason says which moment this is, how it was found: one of the
	// values report/summary.Moment lists ("gc", a mark termination seen
	// while the program ran, "before-gc", "outside", "idle", the
	// program's end, "oom").
	Reason string `json:"reason"`
	Cycle  uint32 `json:"cycle"`
	// AtNS is the moment, in nanoseconds since the tracker started.
	AtNS int64 `json:"at_ns"`
	// Bytes and Objects are the attribution's totals: SampledBytes plus
	// UnsweptBytes.
	Bytes   int64 `json:"bytes"`
	Objects int64 `json:"objects"`
	// SampledBytes is the unbiased sampled total of the heap at the mark,
	// before any correction; UnsweptBytes is the correction for garbage not
	// yet swept at a larger moment just before the mark, spread over the
	// stacks in proportion to what the sweep before the mark freed.
	SampledBytes int64 `json:"sampled_bytes"`
	UnsweptBytes int64 `json:"unswept_bytes,omitempty"`
	// LiveBytes is what the GC at that moment found reachable.
	LiveBytes int64 `json:"live_bytes"`
	// MarkExactBytes and MarkLiveBytes are the runtime's exact heap and
	// live heap at the mark the sampled pair describes; 0 if unknown.
	MarkExactBytes uint64 `json:"mark_exact_bytes,omitempty"`
	MarkLiveBytes  uint64 `json:"mark_live_bytes,omitempty"`
	// MarkLoBytes and MarkHiBytes bound the runtime's heap at that mark,
	// from the readings around it; MarkExactBytes is their middle when
	// they are within 1% of each other. 0 if unknown.
	MarkLoBytes uint64 `json:"mark_lo_bytes,omitempty"`
	MarkHiBytes uint64 `json:"mark_hi_bytes,omitempty"`
	// LiveFromCycle, for a heap at the program's end after main returned,
	// is the program's last GC, at LiveFromNS: what it found reachable is
	// counted live at the end too (LiveBytes, MarkLiveBytes, the stacks'
	// live bytes); what was allocated after it is not known to be live.
	LiveFromCycle uint32 `json:"live_from_cycle,omitempty"`
	LiveFromNS    int64  `json:"live_from_ns,omitempty"`
	// GOGC and MemoryLimit are the GC settings in force when the heap was
	// read (runtime/metrics /gc/gogc:percent, -1 for off, and
	// /gc/gomemlimit:bytes, math.MaxInt64 for none); nil if not known.
	GOGC        *int64 `json:"gogc,omitempty"`
	MemoryLimit *int64 `json:"memory_limit,omitempty"`
	// BoundBytes is set when a pair across GC cycles the tracker did not
	// see, an upper bound, held more than this peak, at BoundAtNS: the peak
	// may have fallen among those cycles.
	BoundBytes uint64 `json:"bound_bytes,omitempty"`
	BoundAtNS  int64  `json:"bound_at_ns,omitempty"`
	// Approximate says the heap was accounted across GC cycles the tracker
	// did not see: Bytes and ExactBytes are upper bounds.
	Approximate bool `json:"approximate,omitempty"`
	// LeastBytes, for an approximate peak, is the largest exact heap the
	// tracker read within the cycles it spans, at LeastAtNS: the heap was
	// at least that.
	LeastBytes uint64 `json:"least_bytes,omitempty"`
	LeastAtNS  int64  `json:"least_at_ns,omitempty"`
	// ExactBytes is the runtime's own heap figure for the moment.
	ExactBytes uint64 `json:"exact_bytes"`
	// RSSBytes, GoMappedBytes and GoReleasedBytes are the process's resident
	// memory and the runtime's mapped and released memory nearest that moment.
	RSSBytes        uint64  `json:"rss_bytes"`
	RSSAnonBytes    uint64  `json:"rss_anon_bytes"`
	GoMappedBytes   uint64  `json:"go_mapped_bytes"`
	GoReleasedBytes uint64  `json:"go_released_bytes"`
	Rate            int     `json:"rate"`
	Frames          []Frame `json:"frames"`
	Stacks          []Stack `json:"stacks"`
	// Limit and Usage are set on emergency dumps: the memory limit in force
	// and the usage that triggered the dump.
	LimitBytes  uint64 `json:"limit_bytes,omitempty"`
	LimitSource string `json:"limit_source,omitempty"`
	UsageBytes  uint64 `json:"usage_bytes,omitempty"`
	// Level counts the emergency dumps so far; CrossedUnixNS is when usage
	// crossed the level's threshold and AccountedNS how long the accounting
	// took after that, before the file was written.
	Level         int   `json:"level,omitempty"`
	CrossedUnixNS int64 `json:"crossed_unix_ns,omitempty"`
	AccountedNS   int64 `json:"accounted_ns,omitempty"`
	// Refined says an emergency dump holds the heap at the trigger; until
	// then it holds the last GC cycle accounted before it, written at once.
	// TriggerHeapBytes and TriggerRSSBytes are the runtime's exact heap and
	// the resident memory at the trigger; FirstDumpNS is how long after the
	// crossing the first, unrefined dump was on disk.
	Refined          bool   `json:"refined,omitempty"`
	TriggerHeapBytes uint64 `json:"trigger_heap_bytes,omitempty"`
	TriggerRSSBytes  uint64 `json:"trigger_rss_bytes,omitempty"`
	FirstDumpNS      int64  `json:"first_dump_ns,omitempty"`
	// Ledger is what the process's memory was made of at the moment: at
	// the peak's reading, or at an emergency dump's trigger.
	Ledger *Ledger `json:"ledger,omitempty"`
}

// History is the in-use heap per allocation stack at moments spread over
// the run: what each GC found reachable. Stacks are shared by all points.
type History struct {
	Version int            `json:"version"`
	Rate    int            `json:"rate"`
	Frames  []Frame        `json:"frames"`
	Stacks  [][]int        `json:"stacks"` // frame indexes, leaf first
	Points  []HistoryPoint `json:"points"`
}

// HistoryPoint is the in-use heap after one GC: Values holds
// [stack index, objects, bytes] for each stack with anything in use.
type HistoryPoint struct {
	AtNS   int64      `json:"at_ns"`
	Cycle  uint32     `json:"cycle"`
	Values [][3]int64 `json:"values"`
}

// Moments is the heap per allocation stack at GC marks spread over the
// run, each paired as the peak is: the heap at the mark, and what that GC
// found live. Stacks are shared by all moments. Each moment holds what
// changed since the one before it in the list; the first, everything.
type Moments struct {
	Version int      `json:"version"`
	Rate    int      `json:"rate"`
	Frames  []Frame  `json:"frames"`
	Stacks  [][]int  `json:"stacks"` // frame indexes, leaf first
	Moments []Moment `json:"moments"`
}

// Moment is the heap at one GC mark. Changes holds [stack index, objects,
// bytes, live bytes] for each stack whose figures differ from the moment
// before; zeros when it holds nothing any more.
type Moment struct {
	Cycle     uint32 `json:"cycle"`
	AtNS      int64  `json:"at_ns"`
	Bytes     int64  `json:"bytes"`
	LiveBytes int64  `json:"live_bytes"`
	// ExactBytes is the runtime's exact heap at the mark, 0 if unknown.
	ExactBytes uint64     `json:"exact_bytes"`
	Changes    [][4]int64 `json:"changes"`
}

// Start is written when the tracker starts.
type Start struct {
	Version    int    `json:"version"`
	PID        int    `json:"pid"`
	StartUnix  int64  `json:"start_unix_ns"` // wall clock at the tracker's time zero
	Rate       int    `json:"rate"`
	GoVersion  string `json:"go_version"`
	IntervalNS int64  `json:"interval_ns"`
	ExitHooks  bool   `json:"exit_hooks"` // os.Exit is covered
	// LimitBytes is the memory limit the OOM guard watches, if it runs.
	LimitBytes   uint64  `json:"limit_bytes,omitempty"`
	LimitSource  string  `json:"limit_source,omitempty"`
	OOMThreshold float64 `json:"oom_threshold,omitempty"`
	// GuardError says why the OOM guard is not running, if it is not.
	GuardError string `json:"guard_error,omitempty"`
	// EnvGOGC and EnvGOMEMLIMIT are those variables as the program was
	// started with them, empty when unset: the settings a GC setting
	// differing from them was made by the program.
	EnvGOGC       string `json:"env_gogc,omitempty"`
	EnvGOMEMLIMIT string `json:"env_gomemlimit,omitempty"`
	// OwnModule is the module of the program's main package, from its
	// build information: its code is the program's own. Empty when not
	// known (a program built from files).
	OwnModule string `json:"own_module,omitempty"`
	// Production is set when the program was built by `gofil build` and
	// started without gofil: nothing outside it recorded how it ended.
	// Program is then its os.Args[0], Host the machine's host name, and
	// Build the settings `gofil build` baked in.
	Production bool   `json:"production,omitempty"`
	Program    string `json:"program,omitempty"`
	Host       string `json:"host,omitempty"`
	Build      string `json:"build,omitempty"`
}

// Exit is written by the tracker's last act.
type Exit struct {
	Version int    `json:"version"`
	How     string `json:"how"` // "return", "exit", "panic", "signal SIGTERM", ...
	AtNS    int64  `json:"at_ns"`
	// Cycles is the number of GC cycles; Paired how many were accounted;
	// Gaps how many snapshots could not be paired with their predecessor.
	Cycles    uint32 `json:"cycles"`
	Paired    int    `json:"paired"`
	Gaps      int    `json:"gaps"`
	Snapshots int    `json:"snapshots"`
	// TrackerNS is the CPU-side time the tracker spent in its own work.
	TrackerNS int64 `json:"tracker_ns"`
	// MaxRSSBytes is the program's own resident high-water mark (VmHWM),
	// read at exit; ChildrenMaxRSSBytes the largest of its waited-for
	// child processes' (getrusage RUSAGE_CHILDREN).
	MaxRSSBytes         uint64 `json:"max_rss_bytes,omitempty"`
	ChildrenMaxRSSBytes uint64 `json:"children_max_rss_bytes,omitempty"`
	// LiveAtExitBytes is what a GC run after the final accounting marked
	// live (/gc/heap/live:bytes): the data the program still held at its
	// end, its globals' above all. Written only when EnvExitLive asked for
	// it; 0 otherwise.
	LiveAtExitBytes uint64 `json:"live_at_exit_bytes,omitempty"`
}

// Blocked is written when the tracker finds every goroutine of the program
// waiting for another, and goes quiet so that the runtime can see the
// deadlock; removed when the program wakes again.
type Blocked struct {
	Version int   `json:"version"`
	AtNS    int64 `json:"at_ns"`
}

// WriteJSON writes f to dir/name atomically and durably.
func WriteJSON(dir, name string, f File) error {
	return writeFile(dir, name, func(w io.Writer) error { return encodeTo(w, f) }, true)
}

// ReplaceJSON writes f to dir/name atomically, without waiting for the
// disk: the file survives the death of the process, which leaves the page
// cache behind, but not a crash of the machine. It is for files rewritten
// often while the program runs.
func ReplaceJSON(dir, name string, f File) error {
	return writeFile(dir, name, func(w io.Writer) error { return encodeTo(w, f) }, false)
}

// WriteFile writes data to dir/name through a temporary file, syncs it and
// renames it into place.
func WriteFile(dir, name string, data []byte) error {
	return writeFile(dir, name, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, true)
}

func writeFile(dir, name string, write func(io.Writer) error, durable bool) error {
	f, tmp, err := createTemp(dir, TempPrefix(name))
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(tmp)
			return fmt.Errorf("sync %s: %w", name, err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return nil
}

// TempPrefix begins the name of the temporary file that becomes name when
// it is renamed into place. One found after the program ended was being
// written when its writer died (or its image was replaced by exec).
func TempPrefix(name string) string { return "." + name + "." }

// tempSeq tells apart the temporary files one process creates.
var tempSeq uint64

// createTemp creates a new file in dir, mode 0600, named prefix and a
// number, as os.CreateTemp would; its descriptor is kept out of the
// program's way (ownfd), as the program may close and reuse any number.
func createTemp(dir, prefix string) (*ownfd.File, string, error) {
	for try := 0; ; try++ {
		n := uint64(time.Now().UnixNano())/1000*1000 + atomic.AddUint64(&tempSeq, 1)%1000
		path := filepath.Join(dir, prefix+strconv.FormatUint(n, 10))
		f, err := ownfd.Open(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			return f, path, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return nil, "", err
		}
	}
}

// Ledger is what a process's memory was made of at a reading: the Go
// runtime's memory classes (runtime/metrics /memory/classes/...) and the
// resident set divided by kind (the heap's arenas by mincore(2), the rest
// by /proc/self/statm), read at ResidentAtNS, which may be before AtNS.
type Ledger struct {
	AtNS     int64  `json:"at_ns"`
	RSSBytes uint64 `json:"rss_bytes"`
	// The runtime's classes: heap objects, free and unused heap, released
	// heap, goroutine stacks in the heap and from the system, metadata and
	// the profile's buckets.
	HeapObjectsBytes  uint64 `json:"heap_objects_bytes"`
	HeapFreeBytes     uint64 `json:"heap_free_bytes"`
	HeapUnusedBytes   uint64 `json:"heap_unused_bytes"`
	HeapReleasedBytes uint64 `json:"heap_released_bytes"`
	HeapStacksBytes   uint64 `json:"heap_stacks_bytes"`
	OSStacksBytes     uint64 `json:"os_stacks_bytes"`
	MetadataBytes     uint64 `json:"metadata_bytes"`
	ProfilingBytes    uint64 `json:"profiling_bytes"`
	// The resident set by kind: in the heap's arenas, other anonymous
	// memory, backed by files (the executable among them); 0
	// ResidentTotalBytes if unknown.
	ResidentAtNS       int64  `json:"resident_at_ns"`
	ResidentTotalBytes uint64 `json:"resident_total_bytes"`
	ResidentHeapBytes  uint64 `json:"resident_heap_bytes"`
	ResidentAnonBytes  uint64 `json:"resident_anon_bytes"`
	ResidentFilesBytes uint64 `json:"resident_files_bytes"`
}
