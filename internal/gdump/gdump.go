// Package gdump reads a goroutine dump (runtime.Stack of all goroutines)
// for the tracker, inside the profiled program: standard library only.
package gdump

import (
	"bytes"
	"strings"

	"github.com/gofil/gofil/internal/raw"
)

// forever are the wait reasons (runtime's waitReason strings) that only
// another goroutine of the program can end: when every goroutine of the
// program waits so, and no timer is pending, it is deadlocked.
var forever = map[string]bool{
	"chan receive": true, "chan send": true, "select": true, "select (no cases)": true,
	"chan receive (nil chan)": true, "chan send (nil chan)": true,
	"sync.Mutex.Lock": true, "sync.RWMutex.Lock": true, "sync.RWMutex.RLock": true,
	"sync.Cond.Wait": true, "sync.WaitGroup.Wait": true, "semacquire": true,
}

// BlockedForever reports whether a goroutine dump (runtime.Stack's, all
// goroutines) shows every goroutine outside the agent waiting for reasons
// in forever. No goroutine at all (main called runtime.Goexit) counts.
func BlockedForever(dump []byte) bool {
	for _, g := range bytes.Split(dump, []byte("\n\n")) {
		head, rest, _ := bytes.Cut(g, []byte("\n"))
		if !bytes.HasPrefix(head, []byte("goroutine ")) {
			continue
		}
		if agentGoroutine(rest) {
			continue
		}
		open := bytes.IndexByte(head, '[')
		end := bytes.LastIndexByte(head, ']')
		if open < 0 || end < open {
			return false
		}
		reason := string(head[open+1 : end])
		if i := strings.Index(reason, ", "); i >= 0 {
			reason = reason[:i] // "chan receive, 5 minutes"
		}
		if !forever[reason] {
			return false
		}
	}
	return true
}

// agentGoroutine reports whether a goroutine's frames are the agent's.
func agentGoroutine(frames []byte) bool {
	for _, line := range bytes.Split(frames, []byte("\n")) {
		if len(line) == 0 || line[0] == '\t' {
			continue
		}
		for _, p := range raw.AgentPackages {
			if bytes.HasPrefix(line, []byte(p+".")) {
				return true
			}
		}
	}
	return false
}
