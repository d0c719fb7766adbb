package summary

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMomentsKeepTheirJSON: summary.json's peak.moment is the tracker's
// string for each moment, and only the moments of the running program
// have a live part and garbage in the sense the page gives them.
func TestMomentsKeepTheirJSON(t *testing.T) {
	want := []string{"gc", "before-gc", "outside", "idle", "return", "exit",
		"exit after main's runtime.Goexit", "panic", "signal", "oom", "pprof"}
	if len(Moments) != len(want) {
		t.Fatalf("%d moments, want %d", len(Moments), len(want))
	}
	for i, m := range Moments {
		data, err := json.Marshal(PeakInfo{Moment: m})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), `"moment":"`+want[i]+`"`) {
			t.Errorf("moment %d encodes as %s, want %q", i, data, want[i])
		}
		if running := i < 4; m.WhileRunning() != running {
			t.Errorf("%q.WhileRunning() = %v, want %v", m, m.WhileRunning(), running)
		}
	}
}
