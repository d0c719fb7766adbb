package rundir

import (
	"path/filepath"
	"testing"
)

// TestMomentsDecoded: the fixture's moments decode into heaps whose stacks
// add up to each moment's total.
func TestMomentsDecoded(t *testing.T) {
	run, err := Load(filepath.Join("testdata", "run", "raw"))
	if err != nil {
		t.Fatal(err)
	}
	times := run.MarkTimes()
	if len(times) < 3 {
		t.Fatalf("%d moments", len(times))
	}
	all := make([]int, len(times))
	for i := range all {
		all[i] = i
	}
	var ms []Mark
	for m := range run.Marks(all) {
		ms = append(ms, m)
	}
	if len(ms) != len(times) {
		t.Fatalf("%d of %d moments decoded", len(ms), len(times))
	}
	for i, m := range ms {
		sum := m.Heap.TrackerBytes
		for _, s := range m.Heap.Stacks {
			sum += s.Bytes
		}
		if m.At != times[i] || sum != run.RawMoments.Moments[i].Bytes {
			t.Errorf("moment %d (GC %d): stacks add up to %d, its total is %d", i, m.Cycle, sum, run.RawMoments.Moments[i].Bytes)
		}
	}
	if near, ok := run.MarkNear(times[1] + 1); !ok || near.At != times[1] {
		t.Errorf("nearest %v: %v", times[1], near.At)
	}
}
