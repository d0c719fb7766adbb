package memtest

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
)

const mib = 1 << 20

// exactSizes are sizes the allocator gives exactly: size classes, and
// multiples of the 8 KiB page above 32 KiB.
var exactSizes = []int{48, 208, 1024, 3072, 4096, 9472, 32768, 65536, 1 << 20}

// blocks holds byte slices of exact sizes. Its slots are allocated before
// a scope opens, so that what a test holds in it is the bytes alone.
type blocks struct {
	held  [][]byte
	bytes int64
}

// newBlocks makes room for total bytes spread evenly over exactSizes.
func newBlocks(total int64) *blocks {
	n := 0
	for _, size := range exactSizes {
		n += int(total/int64(len(exactSizes))/int64(size)) + 1
	}
	return &blocks{held: make([][]byte, 0, n)}
}

// fill allocates total bytes, an even share in each of exactSizes.
func (b *blocks) fill(total int64) {
	for _, size := range exactSizes {
		for share := int64(0); share < total/int64(len(exactSizes)); share += int64(size) {
			b.held = append(b.held, make([]byte, size))
			b.bytes += int64(size)
		}
	}
}

// drop lets go of the blocks.
func (b *blocks) drop() {
	for i := range b.held {
		b.held[i] = nil
	}
	b.held = b.held[:0]
}

func within(t *testing.T, what string, got, want int64, tolerance float64) {
	t.Helper()
	if d := math.Abs(float64(got-want)) / float64(want); d > tolerance {
		t.Errorf("%s = %d (%.1f MiB), want %d (%.1f MiB) within %.0f%%: off by %.1f%%",
			what, got, float64(got)/mib, want, float64(want)/mib, 100*tolerance, 100*d)
	} else {
		t.Logf("%s = %.2f MiB, truth %.2f MiB (%+.2f%%)", what, float64(got)/mib, float64(want)/mib, 100*float64(got-want)/float64(want))
	}
}

// TestPeakManySizes holds a known number of bytes in many sizes, drops
// them, and checks the peak, the retained heap and the site.
func TestPeakManySizes(t *testing.T) {
	b := newBlocks(64 * mib)
	f, res := measure(t, []kind{peakKind, retainedKind}, 1<<40, func() {
		b.fill(64 * mib)
		b.drop()
	})
	if len(f.errors) != 0 {
		t.Fatalf("errors within budget: %q", f.errors)
	}
	within(t, "peak", res[0].figure, b.bytes, 0.05)
	if res[1].figure > mib {
		t.Errorf("retained %d bytes after dropping everything, want under 1 MiB", res[1].figure)
	}
	if len(res[0].sites) == 0 || !strings.HasSuffix(res[0].sites[0].Func, ".(*blocks).fill") {
		t.Fatalf("sites at the peak: %+v, want (*blocks).fill first", res[0].sites)
	}
	within(t, "sampled bytes of (*blocks).fill", res[0].sites[0].Bytes, b.bytes, 0.05)
}

var leaked [][]byte

// leak keeps n bytes reachable from a package variable.
func leak(n int64) {
	for i := int64(0); i < n; i += 4096 {
		leaked = append(leaked, make([]byte, 4096))
	}
}

func TestRetainedLeak(t *testing.T) {
	leaked = make([][]byte, 0, 16*mib/4096)
	defer func() { leaked = nil }()
	_, res := measure(t, []kind{retainedKind}, 1<<40, func() { leak(16 * mib) })
	within(t, "retained", res[0].figure, 16*mib, 0.05)
	if len(res[0].sites) == 0 || !strings.HasSuffix(res[0].sites[0].Func, "memtest.leak") {
		t.Fatalf("retained sites: %+v, want memtest.leak first", res[0].sites)
	}
}

// churn allocates rounds × perRound bytes, holding one round at a time.
func churn(rounds int, perRound int64) {
	for r := 0; r < rounds; r++ {
		b := newBlocks(perRound)
		b.fill(perRound)
		runtime.KeepAlive(b)
	}
}

// TestChurnIsNotALeak allocates 256 MiB, 4 MiB at a time: it retains
// nothing, and its peak is about what one round holds.
func TestChurnIsNotALeak(t *testing.T) {
	f, res := measure(t, []kind{peakKind, retainedKind}, 1<<40, func() { churn(64, 4*mib) })
	if len(f.errors) != 0 {
		t.Fatalf("errors within budget: %q", f.errors)
	}
	if res[1].figure > mib/2 {
		t.Errorf("retained %d bytes after churn, want under 512 KiB", res[1].figure)
	}
	// One round holds 4 MiB (and its slots). The heap at a mark counts
	// the garbage since the mark before: at most the round before, dead
	// since, and what the collector's 5% lets through.
	if p := res[0].figure; p < 4*mib || p > 9*mib {
		t.Errorf("peak of the churn = %.2f MiB, want between 4 and 9", float64(p)/mib)
	} else {
		t.Logf("peak of the churn = %.2f MiB", float64(p)/mib)
	}
}

// TestTransientBuffer allocates a 100 MiB buffer and drops it at once:
// the peak counts it.
func TestTransientBuffer(t *testing.T) {
	_, res := measure(t, []kind{peakKind}, 1<<40, func() {
		buf := make([]byte, 100*mib)
		buf[0] = 1
	})
	within(t, "peak", res[0].figure, 100*mib, 0.05)
}

// TestGoroutines holds 8 MiB in each of 8 goroutines at once.
func TestGoroutines(t *testing.T) {
	const n = 8
	bs := make([]*blocks, n)
	for i := range bs {
		bs[i] = newBlocks(8 * mib)
	}
	_, res := measure(t, []kind{peakKind}, 1<<40, func() {
		var filled, release sync.WaitGroup
		filled.Add(n)
		release.Add(1)
		var done sync.WaitGroup
		for i := 0; i < n; i++ {
			done.Add(1)
			go func(b *blocks) {
				defer done.Done()
				b.fill(8 * mib)
				filled.Done()
				release.Wait()
				b.drop()
			}(bs[i])
		}
		filled.Wait()
		release.Done()
		done.Wait()
	})
	var truth int64
	for _, b := range bs {
		truth += b.bytes
	}
	within(t, "peak", res[0].figure, truth, 0.05)
}

// reproChild names the environment variable under which the test binary,
// run again by TestReproducible, measures reproFunc and prints figures.
const reproChild = "MEMTEST_REPRO_CHILD"

// reproFunc is the measured function of the reproducibility test: it
// holds 24 MiB in many sizes and, for every 64 KiB it keeps, builds and
// drops a list of 1,000 small nodes (48 KiB of garbage). Its peak, at its
// end, is the 24 MiB and the garbage since the last GC: a twentieth of the
// live heap at most within a scope, up to four times it at GOGC 400.
func reproFunc(b *blocks) {
	kept := 0
	for _, size := range exactSizes {
		for share := 0; share < 24*mib/len(exactSizes); share += size {
			b.held = append(b.held, make([]byte, size))
			for kept += size; kept >= 64<<10; kept -= 64 << 10 {
				var list *node
				for i := 0; i < 1000; i++ {
					list = &node{next: list, n: i}
				}
				sinkNode = list
			}
		}
	}
	b.drop()
}

type node struct {
	next *node
	n    int
	_    [4]int
}

var sinkNode *node

// TestReproducibleChild measures reproFunc 20 times and prints each
// figure; it runs only under TestReproducible.
func TestReproducibleChild(t *testing.T) {
	if os.Getenv(reproChild) != "1" {
		t.Skip("run by TestReproducible")
	}
	b := newBlocks(24 * mib)
	for i := 0; i < 20; i++ {
		_, res := measure(t, []kind{peakKind}, 1<<40, func() { reproFunc(b) })
		fmt.Printf("figure %d\n", res[0].figure)
	}
}

// TestReproducible runs reproFunc's measurement 20 times under each of
// GOGC 50, 100 and 400 (in a child process of the test binary) and checks
// that every figure lies within 5% of the middle of all 60.
func TestReproducible(t *testing.T) {
	if os.Getenv(reproChild) == "1" {
		t.Skip("in the child")
	}
	var all []float64
	for _, gogc := range []string{"50", "100", "400"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReproducibleChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), reproChild+"=1", "GOGC="+gogc)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("GOGC=%s: %v\n%s", gogc, err, out)
		}
		var figs []float64
		for _, line := range strings.Split(string(out), "\n") {
			var f float64
			if _, err := fmt.Sscanf(line, "figure %g", &f); err == nil {
				figs = append(figs, f)
			}
		}
		if len(figs) != 20 {
			t.Fatalf("GOGC=%s: %d figures, want 20:\n%s", gogc, len(figs), out)
		}
		lo, hi := spread(figs)
		t.Logf("GOGC=%s: %.2f to %.2f MiB", gogc, lo/mib, hi/mib)
		all = append(all, figs...)
	}
	lo, hi := spread(all)
	mid := (lo + hi) / 2
	t.Logf("all 60: %.2f to %.2f MiB, ±%.2f%% around %.2f MiB", lo/mib, hi/mib, 100*(hi-mid)/mid, mid/mib)
	if (hi-mid)/mid > 0.05 {
		t.Errorf("figures spread ±%.1f%%, want ±5%% at most", 100*(hi-mid)/mid)
	}
}

func spread(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo = math.Min(lo, x)
		hi = math.Max(hi, x)
	}
	return lo, hi
}

var pool sync.Pool

// TestPoolIsNotALeak puts 4 MiB of buffers in a sync.Pool: the pool keeps
// them through one GC (in its victim cache), not two, and they are not
// retained.
func TestPoolIsNotALeak(t *testing.T) {
	_, res := measure(t, []kind{retainedKind}, 1<<40, func() {
		for i := 0; i < 64; i++ {
			buf := make([]byte, 64<<10)
			pool.Put(&buf)
		}
	}, GCPercent(1000)) // no GC while the pool fills, that would empty it
	t.Logf("retained %d bytes", res[0].figure)
	if res[0].figure > mib/2 {
		t.Errorf("retained %d bytes of pooled buffers, want under 512 KiB", res[0].figure)
	}
}
