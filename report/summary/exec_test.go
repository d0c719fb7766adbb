package summary

import (
	"testing"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/rundir"
)

// TestReplacedByExec: the tracker's pipe closed while the program went on
// means an exec, unless the tracker wrote its end after that (the program
// had closed the pipe itself).
func TestReplacedByExec(t *testing.T) {
	started := time.Unix(1700000000, 0)
	start := &raw.Start{StartUnix: started.Add(time.Millisecond).UnixNano()}
	for _, c := range []struct {
		name string
		gone time.Duration
		exit *raw.Exit
		want bool
	}{
		{"no pipe closed", 0, nil, false},
		{"closed, no end", time.Second, nil, true},
		{"closed, an end before (a signal the program handled)", time.Second, &raw.Exit{AtNS: int64(500 * time.Millisecond)}, true},
		{"closed, an end after", time.Second, &raw.Exit{AtNS: int64(2 * time.Second)}, false},
	} {
		run := &rundir.Run{Start: start, Exit: c.exit}
		s := Build(rundir.Meta{Started: started, TrackerGone: c.gone}, run)
		if got := s.ReplacedAtSeconds != nil; got != c.want {
			t.Errorf("%s: replaced %v, want %v (notes %q)", c.name, got, c.want, s.Notes)
		}
	}
}
