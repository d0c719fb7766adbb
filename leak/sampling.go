package leak

import (
	"fmt"

	"github.com/gofil/gofil/internal/units"
)

// How precise a sampled heap profile is.
//
// The runtime samples heap allocations as a Poisson process over the bytes
// allocated, one sample per MemProfileRate bytes R on average
// (runtime/malloc.go, nextSample): an object of s bytes is recorded with
// probability p = 1 - exp(-s/R), and runtime/pprof scales what it
// recorded by 1/p (runtime/pprof/protomem.go, scaleHeapSample). The
// estimate of B bytes held in objects of s bytes is then unbiased with
// variance B·s·(1-p)/p, which grows as s shrinks, towards B·R for s ≪ R:
// a relative standard error of sqrt(R/B). A leaking site keeps what it
// had at the first snapshot, samples included, so its growth G to the
// last snapshot is the estimate of the objects added, with a relative
// standard error of sqrt(R/G): G stands k standard errors clear of zero
// when G ≥ k²·R. Larger objects are recorded more surely, so less growth
// of them resolves (k²·s·(1-p)/p: 0.58 of k²·R for objects of R bytes);
// a site whose objects turn over (the same bytes held by new objects) has
// more noise, up to sqrt(2·B·R) for B bytes held.
const (
	// NoiseSigmas is how many standard errors of sampling noise growth
	// must exceed to count as resolvable.
	NoiseSigmas = 3
	// DefaultMemProfileRate is runtime.MemProfileRate's default, 512 KiB.
	DefaultMemProfileRate = 512 << 10
	// SuggestedMemProfileRate is the rate gofil suggests for leak hunting
	// when a server samples less often: eight times the default's
	// samples, so growth of 576 KiB resolves, for a stack walk in the
	// server per 64 KiB allocated instead of per 512 KiB.
	SuggestedMemProfileRate = 64 << 10
)

// ResolvableGrowth is the least growth of an allocation site of small
// objects that stands [NoiseSigmas] standard errors above the sampling
// noise of heap profiles that sample one allocation per period bytes on
// average (runtime.MemProfileRate): NoiseSigmas²·period, 4.5 MiB at the
// default 512 KiB. It is 0 for a period of 0 (not known) or 1 (every
// allocation is recorded: there is no sampling noise).
//
//	if site.GrowthBytes < leak.ResolvableGrowth(res.Period) {
//		// the growth may be sampling noise
//	}
func ResolvableGrowth(period int64) int64 {
	if period <= 1 {
		return 0
	}
	return NoiseSigmas * NoiseSigmas * period
}

// SamplingNote says in one clause the precision of heap profiles sampled
// at period, as gofil watch prints it and leaks.html shows it, and, when
// period is coarser than [SuggestedMemProfileRate], in another how to
// sample more often; advice is "" otherwise. A period of 0 is one the
// profiles did not give.
//
//	precision, advice := leak.SamplingNote(res.Period)
//	fmt.Println("gofil watch: " + precision)
func SamplingNote(period int64) (precision, advice string) {
	switch {
	case period <= 0:
		return "the heap profiles do not say how often the server samples allocations (their Period is 0)", ""
	case period == 1:
		return "the server records every allocation (runtime.MemProfileRate = 1): there is no sampling noise", ""
	}
	precision = fmt.Sprintf("the server samples one allocation per %s on average (runtime.MemProfileRate = %d); "+
		"a site growing by less than about %s in small objects cannot be told from noise (%d sigma)",
		units.Bytes(period), period, units.Bytes(ResolvableGrowth(period)), NoiseSigmas)
	if period > SuggestedMemProfileRate {
		advice = fmt.Sprintf("to sample more often, set runtime.MemProfileRate = %d << 10 as the first statement of the server's main: "+
			"growth of about %s then stands out", SuggestedMemProfileRate>>10, units.Bytes(ResolvableGrowth(SuggestedMemProfileRate)))
	}
	return precision, advice
}
