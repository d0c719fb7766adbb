package tracker

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/rundirs"
	"github.com/gofil/gofil/internal/tell"
	"github.com/gofil/gofil/oomguard"
)

// Settings that `gofil build` bakes into the program it builds, with the
// linker's -X flag: `go version -m BINARY` shows them among the build's
// -ldflags. A program `gofil run` built has none of them set.
var (
	// buildSettings says how `gofil build` built the program: "gofil
	// build" and its settings. Empty: gofil run built it.
	buildSettings string
	// buildOut is the directory the program makes its run directory in
	// when GOFIL_OUT is not set; empty: none, the tracker is off.
	buildOut string
	// buildRate is the heap sampling rate in bytes, which the build also
	// gives the runtime's default GODEBUG (memprofilerate), so that the
	// runtime samples at it from its first allocation.
	buildRate string
	// buildOOMThreshold is the OOM guard's fraction of the memory limit,
	// or "off"; GOFIL_OOM_THRESHOLD overrides it.
	buildOOMThreshold string
	// buildKeep is how many run directories of the program to keep in
	// the directory, its own among them, or "0": all; GOFIL_KEEP
	// overrides it. Empty: defaultKeep.
	buildKeep string
	// buildNoSignals is "1" when the program does not link os/signal, as
	// GOFIL_NO_SIGNALS says for gofil run.
	buildNoSignals string
)

// runLock is the lock of this process's run directory, held open for the
// life of the process at a number of the tracker's own (ownfd), out of the
// way of the program's files.
var runLock *ownfd.File

// production is what a production run's tracker.json says of the process.
type production struct {
	program, host, build string
}

// startProduction starts the tracker of a program `gofil build` built and
// no gofil runs: in a run directory of the process's own, made in
// GOFIL_OUT or else in the directory baked in. Without either, the tracker
// stays off: it writes nothing and starts no goroutine.
func startProduction() {
	if buildSettings == "" {
		return
	}
	out := os.Getenv(raw.EnvOut)
	if out == "" {
		out = buildOut
	}
	if out == "" {
		defaultRate()
		return
	}
	if rate, err := strconv.Atoi(buildRate); err == nil && rate > 0 && runtime.MemProfileRate != rate && !godebugSetsRate() {
		// The runtime did not take the rate from its default GODEBUG:
		// from here on, allocations before this are sampled at its own.
		runtime.MemProfileRate = rate
	}
	threshold := parseThreshold(buildOOMThreshold, oomguard.DefaultThreshold)
	if s := os.Getenv(raw.EnvOOMThreshold); s != "" {
		threshold = parseThreshold(s, threshold)
	}
	tell.Once()
	prod := &production{program: os.Args[0], build: buildSettings}
	prod.host, _ = os.Hostname()
	dir, lock, err := rundirs.Make(out, prod.program, prod.host, time.Now(), os.Getpid())
	if err != nil {
		tell.Warn("tracker not started: %v", err)
		defaultRate()
		return
	}
	runLock = lock
	rundirs.Prune(out, prod.program, rundirs.KeepCount(buildKeep, os.Getenv(raw.EnvKeep)), time.Now())
	if !begin(dir+string(os.PathSeparator)+raw.SubDir, defaultInterval, threshold, buildNoSignals == "1", prod) {
		// What the tracker wrote before it failed is of no use: it
		// leaves no room taken on a full volume.
		os.RemoveAll(dir)
		runLock.Close()
		defaultRate()
	}
}

// defaultRate gives a program whose tracker stays off the runtime's own
// sampling rate back, unless the environment's GODEBUG set one.
func defaultRate() {
	if rate, err := strconv.Atoi(buildRate); err == nil && runtime.MemProfileRate == rate && !godebugSetsRate() {
		runtime.MemProfileRate = 512 * 1024 // runtime.MemProfileRate's own default
	}
}

func godebugSetsRate() bool {
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if strings.HasPrefix(kv, "memprofilerate=") {
			return true
		}
	}
	return false
}

// parseThreshold reads an OOM threshold: a fraction between 0 and 1, or
// "off" (0); anything else is def.
func parseThreshold(s string, def float64) float64 {
	if f, ok := oomguard.ParseThreshold(s); ok {
		return f
	}
	return def
}
