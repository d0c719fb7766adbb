package view

import (
	"testing"

	"github.com/gofil/gofil/report/summary"
)

// TestPeakHeapWording: the figure shown is the runtime's exact one when
// known, else the samples' with gofil's own part; an upper bound says "at
// most", and a reading among the unseen cycles is the least the heap was.
func TestPeakHeapWording(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name                    string
		p                       summary.PeakInfo
		shown, runtime, withOwn string
	}{
		{"exact", summary.PeakInfo{HeapBytes: 90 * mib, HeapBytesExact: 100 * mib},
			"100.0 MiB", "100.0 MiB", "100.0 MiB"},
		{"sampled", summary.PeakInfo{HeapBytes: 90 * mib, TrackerBytes: 2 * mib},
			"92.0 MiB", "unknown", "unknown; sampled 92.0 MiB, of which gofil's own: 2.0 MiB"},
		{"bounds", summary.PeakInfo{HeapBytes: 90 * mib, HeapBytesExact: 100 * mib, Approximate: true, LowerBoundBytes: 80 * mib, TrackerBytes: 2 * mib},
			"at most 100.0 MiB", "80.0 MiB to 100.0 MiB", "80.0 MiB to 100.0 MiB, of which gofil's own: 2.0 MiB"},
		{"upper", summary.PeakInfo{HeapBytes: 90 * mib, HeapBytesExact: 100 * mib, Approximate: true},
			"at most 100.0 MiB", "at most 100.0 MiB", "at most 100.0 MiB"},
		{"lower", summary.PeakInfo{HeapBytes: 90 * mib, Approximate: true, LowerBoundBytes: 80 * mib},
			"at most 90.0 MiB", "at least 80.0 MiB", "at least 80.0 MiB"},
	} {
		f := PeakHeap(&c.p)
		if f.Shown() != c.shown || f.Runtime != c.runtime || f.RuntimeWithOwn() != c.withOwn {
			t.Errorf("%s: shown %q, runtime %q, with own %q; want %q, %q, %q", c.name, f.Shown(), f.Runtime, f.RuntimeWithOwn(), c.shown, c.runtime, c.withOwn)
		}
	}
}
