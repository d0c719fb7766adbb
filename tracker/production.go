package tracker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofil/gofil/internal/privdir"
	"github.com/gofil/gofil/internal/raw"
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
	warnOnce()
	prod := &production{program: os.Args[0], build: buildSettings}
	prod.host, _ = os.Hostname()
	dir, err := makeRunDir(out, prod, time.Now(), os.Getpid())
	if err != nil {
		warn("tracker not started: %v", err)
		defaultRate()
		return
	}
	pruneRunDirs(out, prod.program, keepCount(buildKeep, os.Getenv(raw.EnvKeep)), time.Now())
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
	if s == "off" {
		return 0
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1 {
		return f
	}
	return def
}

// makeRunDir makes the process's run directory in out, private to the
// user (0700), and holds its lock (raw.RunLock) for the life of the
// process: out is made too if missing, and must be a directory of the
// user's that no other user can write or move (privdir.Check). Its name,
// runDirName's, holds the start time, host and process id, so that
// replicas and restarts never share one and they sort by time; an image
// that replaced another by exec, with the same pid in the same second,
// gets the next free suffix.
func makeRunDir(out string, prod *production, now time.Time, pid int) (string, error) {
	if err := privdir.MakePrivate(out); err != nil {
		return "", fmt.Errorf("%s: %w", raw.EnvOut, err)
	}
	base := out + string(os.PathSeparator) + runDirName(prod.program, now, prod.host, pid)
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			lock, ok, lerr := lockRunDir(dir)
			switch {
			case ok:
				runLock = lock
				return dir, nil
			case lerr != nil:
				os.Remove(dir)
				return "", fmt.Errorf("run directory: %w", lerr)
			}
			// A pruning process removed or held it meanwhile: the next.
			err = fs.ErrExist
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return "", fmt.Errorf("run directory: %w", err)
		}
		dir = base + "-" + strconv.Itoa(i)
	}
}

// runDirName is PROGRAM-TIME-HOST-PID, TIME the UTC start time to the
// second (20261206T031500Z); characters other than letters, digits, '.',
// '_' and '-' in the program's and host's names become '_'.
func runDirName(program string, now time.Time, host string, pid int) string {
	return safeName(baseName(program)) + "-" + now.UTC().Format("20060102T150405Z") + "-" + safeName(host) + "-" + strconv.Itoa(pid)
}

// baseName is program's last path element.
func baseName(program string) string {
	if i := strings.LastIndexByte(program, '/'); i >= 0 {
		return program[i+1:]
	}
	return program
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "_" + string(b)
	}
	return string(b)
}
