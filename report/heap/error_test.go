package heap

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// sampleOnce samples n allocations of size m as the runtime does: a
// countdown of bytes drawn from an exponential distribution of mean rate;
// an allocation that crosses it is recorded once and the countdown is
// drawn again. It returns the recorded objects and bytes, unbiased as the
// profile's reader unbiases them.
func sampleOnce(rng *rand.Rand, n int, m, rate int64) (objects, bytes int64) {
	next := rng.ExpFloat64() * float64(rate)
	var k int64
	for i := 0; i < n; i++ {
		next -= float64(m)
		if next < 0 {
			k++
			next = rng.ExpFloat64() * float64(rate)
		}
	}
	return peak.Unbias(k, k*m, int(rate))
}

// TestErrorBytesMatchesSampling: the standard error a site is given is the
// spread of its figure over many samplings of the same allocations, for
// objects much smaller than the rate, near it and much larger, within 12%
// (400 samplings: the spread's own standard error is about 3.5%).
func TestErrorBytesMatchesSampling(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const trials = 400
	for _, c := range []struct {
		n       int
		m, rate int64
	}{
		{100_000, 64, 512 << 10},
		{20_000, 4096, 64 << 10},
		{2_000, 256 << 10, 512 << 10},
		{500, 8 << 20, 512 << 10},
	} {
		var sum, sumSq float64
		var expected float64
		for i := 0; i < trials; i++ {
			o, b := sampleOnce(rng, c.n, c.m, c.rate)
			sum += float64(b)
			sumSq += float64(b) * float64(b)
			// The error the report gives this sampling's figure.
			h := &Heap{Raw: raw.Profile{Rate: int(c.rate)}, Stacks: []Stack{{Frames: []Frame{{Func: "main.f", File: "f.go", Line: 1}}, Objects: o, Bytes: b}}}
			expected += float64(h.Sites()[0].ErrorBytes) / trials
		}
		mean := sum / trials
		sd := math.Sqrt(math.Max(sumSq/trials-mean*mean, 0))
		truth := float64(int64(c.n) * c.m)
		t.Logf("%d × %d B at rate %d: truth %.0f, mean %.0f, spread %.0f, error_bytes %.0f", c.n, c.m, c.rate, truth, mean, sd, expected)
		if math.Abs(mean-truth) > 4*sd/math.Sqrt(trials)+1e-6*truth {
			t.Errorf("%d × %d B: mean of the samplings %.0f, truth %.0f: the simulation is biased", c.n, c.m, mean, truth)
		}
		if sd < 1 {
			if expected > 0.001*truth {
				t.Errorf("%d × %d B: every allocation sampled, error_bytes %.0f, want about 0", c.n, c.m, expected)
			}
			continue
		}
		if math.Abs(expected-sd) > 0.12*sd {
			t.Errorf("%d × %d B at rate %d: error_bytes %.0f, the samplings' spread %.0f: more than 12%% apart", c.n, c.m, c.rate, expected, sd)
		}
	}
}
