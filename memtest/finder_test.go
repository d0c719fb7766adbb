package memtest

import "testing"

// TestFinder feeds the finder made-up cycles and checks the heap at each
// mark: live, plus what the next cycle's snapshot says the sweep freed.
func TestFinder(t *testing.T) {
	var f finder
	steps := []struct {
		o    observation
		best uint64
	}{
		{observation{cycle: 10, live: 100, freed: 0}, 100},
		// Sweep 10 freed 50: the heap at mark 10 was 150.
		{observation{cycle: 11, live: 120, freed: 50}, 150},
		// Sweep 11 freed 10: 130 at mark 11, not a new best.
		{observation{cycle: 12, live: 90, freed: 60}, 150},
		// Cycles 13 and 14 were missed: mark 12 has no figure, and 15
		// counts its live heap alone.
		{observation{cycle: 15, live: 160, freed: 500}, 160},
		// A reading of an older cycle changes nothing.
		{observation{cycle: 14, live: 900, freed: 0}, 160},
		{observation{cycle: 16, live: 100, freed: 600}, 260},
	}
	for i, s := range steps {
		f.add(s.o)
		if f.best.bytes != s.best {
			t.Fatalf("step %d: best %d, want %d", i, f.best.bytes, s.best)
		}
	}
	if f.skipped != 3 {
		t.Errorf("skipped %d, want 3", f.skipped)
	}
	// runtime.GC publishes its own sweep's frees: 400 more freed in all,
	// of which 300 by its own sweep (exact) and 100 by sweep 16's.
	f.end(observation{cycle: 17, live: 50, freed: 1000}, 300)
	if f.best.bytes != 350 || f.best.cycle != 17 || !f.best.atMark {
		t.Errorf("best after end %+v, want 350 at mark 17", f.best)
	}
}
