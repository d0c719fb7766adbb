package tracker

import (
	"runtime"
	"testing"

	"github.com/gofil/gofil/peak"
)

// TestHistorySumsSizes: the runtime keeps one record per stack and size;
// the history holds one value per stack, the sum of its records, each
// unbiased at its own size.
func TestHistorySumsSizes(t *testing.T) {
	const rate = 64 << 10
	small := runtime.MemProfileRecord{AllocObjects: 100, AllocBytes: 100 * 1024, FreeObjects: 20, FreeBytes: 20 * 1024}
	large := runtime.MemProfileRecord{AllocObjects: 10, AllocBytes: 10 << 20}
	small.Stack0[0], large.Stack0[0] = 0x1234, 0x1234
	var h history
	h.add(peak.Snapshot{Cycle: 3, Records: []runtime.MemProfileRecord{small, large}}, rate)
	if len(h.points) != 1 || len(h.points[0].values) != 1 {
		t.Fatalf("want one point with one stack, got %+v", h.points)
	}
	_, sb := peak.Unbias(80, 80*1024, rate)
	_, lb := peak.Unbias(10, 10<<20, rate)
	if got := h.points[0].values[0][2]; got != sb+lb {
		t.Errorf("the stack holds %d bytes, want %d + %d", got, sb, lb)
	}
}
