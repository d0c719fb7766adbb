package peak

import "math"

// The tolerances the Accountant judges figures by, each with its reason.

// exactWidth is how far apart the bounds on the heap at a mark may be for
// it to be called exact: 1% of it, or 64 KiB for a small heap. Its middle
// is then within 0.5% (32 KiB) of the truth.
func exactWidth(n uint64) uint64 {
	if w := n / 100; w > 64<<10 {
		return w
	}
	return 64 << 10
}

// tightSlack is how much a pair across unseen cycles may count too much and
// still be taken as the heap at its last mark: 1% of it, or 256 KiB.
func tightSlack(sampled int64) uint64 {
	t := uint64(0)
	if sampled > 0 {
		t = uint64(sampled) / 100
	}
	if t < 256<<10 {
		t = 256 << 10
	}
	return t
}

// sameHeap is how far two readings of the heap may differ, or the bytes
// allocated between them, for the heap to be taken as the same (or 1% of
// it, if more).
const sameHeap = 1 << 20

// margin is sameHeap for a heap of n bytes: 1% of it, at least sameHeap.
func margin(n uint64) uint64 {
	if n/100 > sameHeap {
		return n / 100
	}
	return sameHeap
}

// samplingSD is the standard deviation of a sampled figure of n bytes
// unbiased at rate: an allocation of size s is sampled with probability
// about s/rate and then counts rate bytes, so the variance of the sum is
// about rate × n.
func samplingSD(rate int, n float64) float64 {
	return math.Sqrt(math.Max(float64(rate), 1) * math.Max(n, 0))
}

// samplingError is what sampling explains of a sampled figure of n bytes:
// three standard deviations.
func samplingError(rate int, n float64) float64 {
	return 3 * samplingSD(rate, n)
}

// readingSlack is what a comparison of a sampled figure of n bytes with
// the runtime's exact readings allows besides sampling: 1% of it, for
// what the readings around a mark miss, and 64 KiB, for what the
// allocator's per-P caches hold back from the counters.
func readingSlack(n float64) float64 {
	return 0.01*n + 64<<10
}

// Agreement is how far a sampled figure of n bytes, unbiased at rate, may
// be from the runtime's exact figure for the same moment and still agree
// with it: what sampling explains and 1% besides, for what the readings
// around a mark miss. The report's note of a disagreement uses it too.
func Agreement(rate int, n float64) float64 {
	return samplingError(rate, n) + 0.01*n
}

// misplacedBy is how much less than the proven heap at its mark a pair must
// count, besides less than half, to be taken for another mark's (misplaced):
// 8 MiB is four standard deviations of sampling a heap of 8 MiB at a rate
// of 512 KiB, and 30 of one at the default 64 KiB.
const misplacedBy = 8 << 20
