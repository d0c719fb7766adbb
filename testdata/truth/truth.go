// Package truth is how gofil's ground-truth programs record what they
// measure of themselves: the bytes each measured function left live, in
// the JSON form gofil's tests read from the file TRUTH_OUT names.
//
//	var t truth.Truth
//	before := truth.LiveHeap()
//	data := load()
//	t.Total = int64(t.Add("main.load", before))
//	runtime.KeepAlive(data)
//	if err := t.Write(); err != nil { ... }
package truth

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
)

// Truth is a program's own account of its heap.
type Truth struct {
	Functions map[string]int64 `json:"functions"`
	Total     int64            `json:"total"`
	// Garbage is, per function, what it allocated and dropped before the
	// peak's mark, unreachable there: kept apart from Functions, the live
	// part, by programs that measure both.
	Garbage map[string]int64 `json:"garbage,omitempty"`
}

// Add records under fn the growth of the live heap since before, and
// returns the live heap now.
func (t *Truth) Add(fn string, before uint64) uint64 {
	if t.Functions == nil {
		t.Functions = map[string]int64{}
	}
	now := LiveHeap()
	t.Functions[fn] += int64(now) - int64(before)
	return now
}

// Write writes t to the file named by TRUTH_OUT, if it is set.
func (t *Truth) Write() error {
	path := os.Getenv("TRUTH_OUT")
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// LiveHeap collects garbage and returns the bytes in live heap objects:
// after runtime.GC, whose sweep is over when it returns, HeapAlloc holds
// only what the collector found reachable.
func LiveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
