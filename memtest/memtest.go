package memtest

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/gofil/gofil/internal/units"
)

// sampleRate is runtime.MemProfileRate while a scope is open (unless the
// program set a lower one): one sample per 4 KiB allocated on average.
const sampleRate = 4096

type kind int

const (
	peakKind kind = iota
	retainedKind
)

func (k kind) String() string {
	if k == peakKind {
		return "LimitPeak"
	}
	return "LimitRetained"
}

type limit struct {
	set   bool
	bytes int64
	cfg   config
}

// A scope is the measurement of one test, from its first call of
// LimitPeak or LimitRetained to its cleanup.
type scope struct {
	tb        testing.TB
	name      string
	limits    [2]limit
	intruders []string

	gcPercentWas int
	rateWas      int
	rate         int

	w        *watcher
	base     reading
	baseSnap snapshot

	// results are the figures close measured, for the package's tests.
	results []measured
}

// registry holds the one scope open in the process: the heap is one per
// process, and two tests measuring it at once would each count the
// other's memory.
var registry struct {
	mu   sync.Mutex
	open *scope
}

// LimitPeak fails tb if its heap, from this call to the end of the test,
// grows by limit bytes or more over what it was at the call. The figure
// is the largest heap in objects while the test ran under an eager
// collector (see the package documentation); a failure lists the
// allocation sites that held the heap at its peak.
//
//	func TestBuild(t *testing.T) {
//		memtest.LimitPeak(t, 64<<20)
//		build()
//	}
func LimitPeak(tb testing.TB, limit int64, opts ...Option) {
	tb.Helper()
	open(tb, peakKind, limit, opts)
}

// LimitRetained fails tb if what it leaves reachable, once the test and
// its cleanups have ended, is limit bytes or more over what was live at
// the call. Cleanups registered after the call run before the
// measurement; call it first in the test. A failure lists the allocation
// sites of what was retained.
//
//	func TestCache(t *testing.T) {
//		memtest.LimitRetained(t, 1<<20)
//		fill()
//	}
func LimitRetained(tb testing.TB, limit int64, opts ...Option) {
	tb.Helper()
	open(tb, retainedKind, limit, opts)
}

func open(tb testing.TB, k kind, bytes int64, opts []Option) {
	tb.Helper()
	cfg := newConfig(opts)
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if s := registry.open; s != nil {
		if s.tb != tb {
			s.intruders = append(s.intruders, tb.Name())
			tb.Errorf("memtest: %s cannot measure while another test (%s) measures; run without t.Parallel", k, s.name)
			return
		}
		if s.limits[k].set {
			tb.Errorf("memtest: %s called twice in %s", k, s.name)
			return
		}
		s.limits[k] = limit{set: true, bytes: bytes, cfg: cfg}
		return
	}
	m := newMeter()
	if _, ok := m.read(); !ok {
		tb.Errorf("memtest: %s needs the runtime metric /gc/heap/live:bytes (Go 1.21 or later)", k)
		return
	}
	s := &scope{tb: tb, name: tb.Name()}
	s.limits[k] = limit{set: true, bytes: bytes, cfg: cfg}
	s.gcPercentWas = debug.SetGCPercent(cfg.gcPercent)
	s.rateWas = runtime.MemProfileRate
	s.rate = sampleRate
	if s.rateWas > 0 && s.rateWas < sampleRate {
		s.rate = s.rateWas
	}
	runtime.MemProfileRate = s.rate
	s.w = newWatcher(m, int64(s.rate))
	s.baseSnap.recs = make([]runtime.MemProfileRecord, 0, cap(s.w.cur.recs))
	runtime.GC()
	s.base = s.w.start(&s.baseSnap)
	registry.open = s
	tb.Cleanup(s.close)
}

// close ends the measurement, restores the collector and the sampling
// rate, and judges.
func (s *scope) close() {
	w := s.w
	w.stop()
	end := w.finish()
	peak := int64(w.find.best.bytes) - int64(s.base.live) - w.ownHeld()
	gcs := end.cycles - s.base.cycles

	var retained int64
	if s.limits[retainedKind].set {
		// A second cycle frees what the first left to finalizers and
		// what sync.Pool kept in its victim cache.
		runtime.GC()
		r, _ := w.meter.read()
		retained = int64(r.live) - int64(s.base.live) - w.ownHeld()
		w.spare.take(w.meter.cycles)
	}
	debug.SetGCPercent(s.gcPercentWas)
	runtime.MemProfileRate = s.rateWas

	registry.mu.Lock()
	intruders := append([]string(nil), s.intruders...)
	registry.open = nil
	registry.mu.Unlock()

	for k := range s.limits {
		l := s.limits[k]
		if !l.set {
			continue
		}
		if len(intruders) > 0 {
			s.tb.Errorf("memtest: %s did not measure %s: other tests (%s) called memtest while it measured, and the heap is one per process; run without t.Parallel",
				kind(k), s.name, strings.Join(intruders, ", "))
			continue
		}
		var m measured
		if kind(k) == peakKind {
			m = measured{kind: peakKind, figure: peak, attr: attribute(&w.bestAlloc, &w.bestFree, &s.baseSnap, int64(s.rate))}
			m.detail = fmt.Sprintf("the largest heap at a GC mark while the test ran, less the %s live when LimitPeak was called; GC percent %d, %d GCs, %d missed",
				units.Bytes(int64(s.base.live)), l.cfg.gcPercent, gcs, w.find.skipped)
		} else {
			m = measured{kind: retainedKind, figure: retained, attr: attribute(&w.spare, &w.spare, &s.baseSnap, int64(s.rate))}
			m.detail = fmt.Sprintf("the live heap after the test and its cleanups (two GCs), less the %s live when LimitRetained was called",
				units.Bytes(int64(s.base.live)))
		}
		m.sites, m.sampled, m.ignored = m.attr.sites(l.cfg.ignore)
		m.figure -= m.ignored
		if m.figure < 0 {
			m.figure = 0
		}
		s.results = append(s.results, m)
		path, err := writeArtifact(s.tb, m)
		if err != nil {
			s.tb.Logf("memtest: %v", err)
		}
		if m.figure >= l.bytes {
			s.tb.Errorf("%s", m.message(l, path))
		}
	}
}

// measured is one figure of a scope and what it is made of.
type measured struct {
	kind    kind
	figure  int64
	detail  string
	attr    *attribution
	sites   []siteBytes
	sampled int64 // the sites' bytes, summed
	ignored int64 // bytes in stacks through an ignored function
}

// message is the failure's text: the figure, the limit, the largest
// sites with their share of the sampled bytes.
func (m measured) message(l limit, profile string) string {
	var b strings.Builder
	what := "peak heap"
	where := "at the peak"
	if m.kind == retainedKind {
		what, where = "retained heap", "of what was retained"
	}
	fmt.Fprintf(&b, "memtest: %s: %s %s is over the limit of %s\n  (%s)\n",
		m.kind, what, units.Bytes(m.figure), units.Bytes(l.bytes), m.detail)
	fmt.Fprintf(&b, "  allocation sites %s, sampled (one sample per %s allocated on average):\n", where, units.Bytes(m.attr.rate))
	if len(m.sites) == 0 {
		b.WriteString("  (no samples)\n")
	}
	var rest int64
	for i, s := range m.sites {
		if i >= l.cfg.top {
			rest += s.Bytes
			continue
		}
		pct := 0.0
		if m.sampled > 0 {
			pct = 100 * float64(s.Bytes) / float64(m.sampled)
		}
		fmt.Fprintf(&b, "  %10s  %5.1f%%  %s  %s:%d\n", units.Bytes(s.Bytes), pct, s.Func, shortFile(s.File), s.Line)
	}
	switch n := len(m.sites) - l.cfg.top; {
	case n == 1:
		fmt.Fprintf(&b, "  and 1 more site holding %s\n", units.Bytes(rest))
	case n > 1:
		fmt.Fprintf(&b, "  and %d more sites holding %s\n", n, units.Bytes(rest))
	}
	if m.ignored > 0 {
		fmt.Fprintf(&b, "  left out: %s in stacks through %s\n", units.Bytes(m.ignored), strings.Join(l.cfg.ignore, ", "))
	}
	if profile != "" {
		fmt.Fprintf(&b, "  heap profile: %s\n", profile)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
