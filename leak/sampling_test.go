package leak

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestLeakResolvableGrowth checks ResolvableGrowth against the runtime's
// sampling, simulated: objects of s bytes, each recorded with probability
// 1-exp(-s/R) and scaled by its inverse as runtime/pprof does. Growth of
// ResolvableGrowth(R) in small objects must have a standard error of a
// third of itself; in objects as large as R, less: sqrt(s·(1-p)/p / G).
func TestLeakResolvableGrowth(t *testing.T) {
	const rate = DefaultMemProfileRate
	g := ResolvableGrowth(rate)
	if g != 4608*kib {
		t.Fatalf("ResolvableGrowth(512 KiB) = %d, want 9 × 512 KiB = 4.5 MiB", g)
	}
	if ResolvableGrowth(0) != 0 || ResolvableGrowth(1) != 0 {
		t.Errorf("ResolvableGrowth(0), (1) = %d, %d; want 0: unknown, and no sampling", ResolvableGrowth(0), ResolvableGrowth(1))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	stderr := func(size int64) float64 {
		p := 1 - math.Exp(-float64(size)/rate)
		n := g / size
		const trials = 4000
		var sum, sq float64
		for range trials {
			var est float64
			for range n {
				if rng.Float64() < p {
					est += float64(size) / p
				}
			}
			sum += est
			sq += est * est
		}
		mean := sum / trials
		if math.Abs(mean-float64(g)) > 0.02*float64(g) {
			t.Errorf("objects of %d bytes: mean estimate %.0f, want %d: the scaling is biased", size, mean, g)
		}
		return math.Sqrt(sq/trials-mean*mean) / float64(g)
	}
	if e := stderr(2 * kib); math.Abs(e-1.0/NoiseSigmas) > 0.03 {
		t.Errorf("growth of %d in 2 KiB objects has a relative standard error of %.3f, want 1/%d", g, e, NoiseSigmas)
	}
	p := 1 - math.Exp(-1)
	want := math.Sqrt(rate * (1 - p) / p / float64(g)) // 0.254
	if e := stderr(rate); math.Abs(e-want) > 0.03 {
		t.Errorf("growth of %d in %d-byte objects has a relative standard error of %.3f, want %.3f", g, rate, e, want)
	}
}

// TestLeakSamplingRate checks that the profiles' Period reaches the result,
// leaks.json and the note printed from it.
func TestLeakSamplingRate(t *testing.T) {
	snap, err := FromProfile(sizedHeapProfile(time.Unix(1, 0), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Period != 512*kib {
		t.Fatalf("snapshot period %d, want the profile's 512 KiB", snap.Period)
	}
	later := snap
	later.Time, later.Period = time.Unix(2, 0), 64*kib
	unknown := later
	unknown.Time, unknown.Period = time.Unix(3, 0), 0
	res := Analyze([]Snapshot{snap, later, unknown})
	if res.Period != 64*kib {
		t.Errorf("result period %d, want the last snapshot's that gave one, 64 KiB", res.Period)
	}
	data, err := json.Marshal(res.Summary("u"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mem_profile_rate":65536`, `"resolvable_growth_bytes":589824`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s does not contain %s", data, want)
		}
	}
	data, _ = json.Marshal(Analyze([]Snapshot{unknown}).Summary("u"))
	if strings.Contains(string(data), "mem_profile_rate") || strings.Contains(string(data), "resolvable_growth_bytes") {
		t.Errorf("%s gives a sampling rate that no profile gave", data)
	}

	for _, c := range []struct {
		period            int64
		precision, advice string
	}{
		{512 * kib,
			"the server samples one allocation per 512.0 KiB on average (runtime.MemProfileRate = 524288); a site growing by less than about 4.5 MiB in small objects cannot be told from noise (3 sigma)",
			"to sample more often, set runtime.MemProfileRate = 64 << 10 as the first statement of the server's main: growth of about 576.0 KiB then stands out"},
		{64 * kib,
			"the server samples one allocation per 64.0 KiB on average (runtime.MemProfileRate = 65536); a site growing by less than about 576.0 KiB in small objects cannot be told from noise (3 sigma)",
			""},
		{1, "the server records every allocation (runtime.MemProfileRate = 1): there is no sampling noise", ""},
		{0, "the heap profiles do not say how often the server samples allocations (their Period is 0)", ""},
	} {
		precision, advice := SamplingNote(c.period)
		if precision != c.precision || advice != c.advice {
			t.Errorf("SamplingNote(%d) =\n%q, %q\nwant\n%q, %q", c.period, precision, advice, c.precision, c.advice)
		}
	}
}

// TestLeakVerdict checks the verdicts: too short to judge below
// MinSnapshots snapshots, whatever grew; then suspects or none.
func TestLeakVerdict(t *testing.T) {
	grow := func(i int) int64 { return int64(i) * 4 * mib }
	flat := func(int) int64 { return mib }
	for _, c := range []struct {
		n     int
		site  synthSite
		opts  []Option
		want  string
		least int
	}{
		{1, synthSite{"main.leak", grow, keeps(grow)}, nil, VerdictTooShort, 5},
		{4, synthSite{"main.leak", grow, keeps(grow)}, nil, VerdictTooShort, 5},
		{5, synthSite{"main.leak", grow, keeps(grow)}, nil, VerdictSuspects, 5},
		{5, synthSite{"main.flat", flat, nil}, nil, VerdictNoSuspects, 5},
		{3, synthSite{"main.leak", grow, keeps(grow)}, []Option{MinSnapshots(3)}, VerdictSuspects, 3},
		{1, synthSite{"main.leak", grow, keeps(grow)}, []Option{MinSnapshots(0)}, VerdictTooShort, 2},
	} {
		res := Analyze(synth(c.n, c.site), c.opts...)
		s := res.Summary("u")
		if res.Verdict() != c.want || s.Verdict != c.want || res.MinSnapshots != c.least || s.MinSnapshots != c.least {
			t.Errorf("%d snapshots of %s: verdict %q (leaks.json %q), min snapshots %d (%d); want %q, %d",
				c.n, c.site.fn, res.Verdict(), s.Verdict, res.MinSnapshots, s.MinSnapshots, c.want, c.least)
		}
	}
}
