// Package heap is gofil's one model of a heap: stacks of frames with the
// bytes and objects they held and what of them the GC found live. A heap
// profile of runtime/pprof's enters as it is: Clean takes gofil's own part
// out of it, and FromProfile makes it stacks. The tracker's heaps take the
// same rules without a profile between (New, Cleaner), which for a large
// run is several times faster and smaller; the sites, functions, pprof
// profile and collapsed stacks of a report are views of a heap.
package heap

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/heapprof"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/peak"
)

// Frame is one frame of an allocation stack: gofil's one frame type, the
// agent's.
type Frame = raw.Frame

// Stack is an allocation stack and what it held, root first.
type Stack struct {
	Frames      []Frame // root first
	Bytes       int64
	Objects     int64
	LiveBytes   int64
	LiveObjects int64
	Truncated   bool
}

// Heap is the heap at one moment, with the tracker's own allocations
// removed and gofil's wrapper frames hidden.
type Heap struct {
	// Raw is the tracker's profile of the moment without its stacks and
	// frames, which Stacks holds, cleaned.
	Raw    raw.Profile
	Stacks []Stack
	// Bytes and Objects are the totals of Stacks.
	Bytes, Objects int64
	// TrackerBytes is what the tracker itself held, removed from Stacks.
	TrackerBytes int64
}

// userMainName is what `gofil run` renames the program's main to.
const userMainName = "main." + gofil.UserMain

// New is the heap the tracker wrote, by the rules every heap takes
// (Clean, FromProfile): the tracker's own allocations removed and counted
// in TrackerBytes, the frames gofil's build added hidden, so stacks read as
// the program's own. pkgs are the packages the program links without the
// agent, nil if not known. It is NewCleaner(p.Frames, pkgs, nil).Heap(p).
func New(p raw.Profile, pkgs map[string]bool) *Heap {
	return NewCleaner(p.Frames, pkgs, nil).Heap(p)
}

// HiddenFrame reports frames that say nothing about who allocated
// (heapprof.Hidden).
func HiddenFrame(fn string) bool { return heapprof.Hidden(fn) }

// Site is an allocation site: the innermost frame of a stack that is not
// the runtime's own.
type Site struct {
	Function string  `json:"function"`
	File     string  `json:"file"`
	Line     int     `json:"line"`
	Bytes    int64   `json:"bytes"`
	Objects  int64   `json:"objects"`
	Percent  float64 `json:"percent"`
	// LiveBytes is what the GC at the peak's mark found still reachable
	// of Bytes; GarbageBytes the rest, awaiting collection.
	LiveBytes    int64 `json:"live_bytes"`
	GarbageBytes int64 `json:"garbage_bytes"`
	// NotKnownBytes, at the program's end after main returned, is what
	// was allocated after its last GC (Heap.LiveFrom): not known to be in
	// use or garbage. GarbageBytes is then 0.
	NotKnownBytes int64 `json:"not_known_bytes,omitempty"`
	// ErrorBytes is one standard error of Bytes from the heap profile's
	// sampling (Heap.SamplingVariance); 0 when every allocation is
	// recorded (rate 1).
	ErrorBytes int64 `json:"error_bytes"`
	// OwnFunction, OwnFile and OwnLine are, in summary.json's top, the
	// innermost frame of the program's own code the site's bytes were
	// allocated from (NameOwn); SiteFunction, SiteFile and SiteLine are,
	// in own_top, the allocation site below it (OwnSites). Empty when
	// none, or the same frame.
	OwnFunction  string `json:"own_function,omitempty"`
	OwnFile      string `json:"own_file,omitempty"`
	OwnLine      int    `json:"own_line,omitempty"`
	SiteFunction string `json:"site_function,omitempty"`
	SiteFile     string `json:"site_file,omitempty"`
	SiteLine     int    `json:"site_line,omitempty"`
	variance     float64
}

// errorOf is the standard error of a variance, in bytes.
func errorOf(variance float64) int64 { return int64(math.Sqrt(variance) + 0.5) }

// Live is the part of s's bytes the GC at the mark found reachable, kept
// within them: the two come from different snapshots, each sampled.
func (s Stack) Live() int64 { return min(max(s.LiveBytes, 0), s.Bytes) }

// Garbage is the rest of s's bytes: unreachable at the mark, awaiting the
// sweep.
func (s Stack) Garbage() int64 { return s.Bytes - s.Live() }

// Site is the index in s.Frames of the allocation site (heapprof.Site).
func (s Stack) Site() int { return heapprof.Site(s.Frames) }

// Sites groups h by allocation site, largest first.
func (h *Heap) Sites() []Site {
	acc := map[frameKey]*Site{}
	for _, s := range h.Stacks {
		if len(s.Frames) == 0 {
			continue
		}
		f := s.Frames[s.Site()]
		k := keyOf(f)
		site := acc[k]
		if site == nil {
			site = &Site{Function: f.Func, File: f.File, Line: f.Line}
			acc[k] = site
		}
		h.addTo(site, s)
	}
	out := make([]Site, 0, len(acc))
	for _, s := range acc {
		s.Percent = percent(s.Bytes, h.Bytes)
		s.ErrorBytes = errorOf(s.variance)
		out = append(out, *s)
	}
	sortSites(out)
	return out
}

// addTo counts stack s in site.
func (h *Heap) addTo(site *Site, s Stack) {
	site.Bytes += s.Bytes
	site.Objects += s.Objects
	site.LiveBytes += s.Live()
	*h.rest(&site.GarbageBytes, &site.NotKnownBytes) += s.Garbage()
	site.variance += h.SamplingVariance(s)
}

// sortSites orders sites largest first, then by function and line.
func sortSites(out []Site) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Line < out[j].Line
	})
}

// SamplingVariance is the variance of s.Bytes, a figure unbiased from the
// heap profile's samples at h's rate R. The runtime samples an allocation
// of size m with probability p = 1 − exp(−m/R) and the figure counts each
// sample as m/p, so n objects of size m, B = n·m bytes, give a variance of
// n·m²·(1−p)/p = B·m·(1−p)/p: about R·B for objects much smaller than R
// (a standard error of √(R·B)), and nothing for objects much larger, which
// are sampled almost surely. A stack's objects are taken at their mean
// size: for a stack of mixed sizes the figure is an estimate.
func (h *Heap) SamplingVariance(s Stack) float64 {
	r := float64(h.Raw.Rate)
	if r <= 1 || s.Bytes <= 0 || s.Objects <= 0 {
		return 0
	}
	m := float64(s.Bytes) / float64(s.Objects)
	p := -math.Expm1(-m / r)
	return float64(s.Bytes) * m * (1 - p) / p
}

// WithinNoise reports whether a sampled figure of bytes, with a standard
// error of errBytes, could be sampling noise around nothing: it is less
// than two standard errors.
func WithinNoise(bytes, errBytes int64) bool { return errBytes > 0 && bytes < 2*errBytes }

// TopSites are h's n largest allocation sites.
func (h *Heap) TopSites(n int) []Site {
	sites := h.Sites()
	if len(sites) > n {
		sites = sites[:n]
	}
	return sites
}

// Function is a function's inclusive share of a heap: what it and its
// callees held.
type Function struct {
	Function string  `json:"function"`
	Bytes    int64   `json:"bytes"`
	Objects  int64   `json:"objects"`
	Percent  float64 `json:"percent"`
	// LiveBytes, GarbageBytes and NotKnownBytes split Bytes as Site's do.
	LiveBytes     int64 `json:"live_bytes"`
	GarbageBytes  int64 `json:"garbage_bytes"`
	NotKnownBytes int64 `json:"not_known_bytes,omitempty"`
	// ErrorBytes is one standard error of Bytes, as Site's.
	ErrorBytes int64 `json:"error_bytes"`
	variance   float64
}

// Functions gives every function's inclusive bytes, largest first. A
// function that appears twice in a stack (recursion) counts once.
func (h *Heap) Functions() []Function {
	acc := map[string]*Function{}
	for _, s := range h.Stacks {
		seen := map[string]bool{}
		for _, f := range s.Frames {
			if seen[f.Func] {
				continue
			}
			seen[f.Func] = true
			fn := acc[f.Func]
			if fn == nil {
				fn = &Function{Function: f.Func}
				acc[f.Func] = fn
			}
			fn.Bytes += s.Bytes
			fn.Objects += s.Objects
			fn.LiveBytes += s.Live()
			*h.rest(&fn.GarbageBytes, &fn.NotKnownBytes) += s.Garbage()
			fn.variance += h.SamplingVariance(s)
		}
	}
	out := make([]Function, 0, len(acc))
	for _, f := range acc {
		f.Percent = percent(f.Bytes, h.Bytes)
		f.ErrorBytes = errorOf(f.variance)
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Function < out[j].Function
	})
	return out
}

// LiveFrom reports whether h is the program's end after main returned,
// whose live part is what the program's last GC found reachable
// (raw.Profile.LiveFromCycle): the rest is not known to be garbage.
func (h *Heap) LiveFrom() bool { return h.Raw.LiveFromCycle != 0 }

// rest is where the part of a stack that is not live goes: garbage, or
// not known at an end whose live part is the last GC's.
func (h *Heap) rest(garbage, notKnown *int64) *int64 {
	if h.LiveFrom() {
		return notKnown
	}
	return garbage
}

// LiveBytes is what the GC at the peak found still reachable, of the
// heap's bytes.
func (h *Heap) LiveBytes() int64 {
	var n int64
	for _, s := range h.Stacks {
		n += s.Live()
	}
	return n
}

func percent(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(int64(float64(part)*10000/float64(whole)+0.5)) / 100
}

// Sampled is the unbiased sampled total of the heap at the mark the
// attribution comes from, the tracker's own allocations included, before
// any correction: the figure to hold against the runtime's exact one.
func (h *Heap) Sampled() int64 {
	if h.Raw.SampledBytes > 0 {
		return h.Raw.SampledBytes
	}
	return h.Raw.Bytes
}

// Corrections names what was added to the sampled heap.
func (h *Heap) Corrections() []Correction {
	out := []Correction{}
	if h.Raw.UnsweptBytes > 0 {
		out = append(out, Correction{
			Name:  "unswept garbage",
			Bytes: h.Raw.UnsweptBytes,
			How: "the runtime's exact heap was larger just before the GC's mark than at it, by garbage of the cycle before not yet swept; " +
				"each stack was given the same share of what that sweep freed from it, to the runtime's figure; what it adds is garbage, counted in garbage_bytes",
		})
	}
	return out
}

// Disagreement returns a one-line note when the sampled heap at the mark
// and the runtime's exact figure for it differ by more than sampling
// explains, else "". Sampling at rate R gives a heap of B bytes a standard
// error of at most sqrt(R·B) (all of it in objects much smaller than R);
// the note needs three of those and 1% besides (peak.Agreement).
func (h *Heap) Disagreement() string {
	exact := float64(h.Raw.MarkExactBytes)
	if exact == 0 {
		return ""
	}
	sampled := float64(h.Sampled())
	tol := peak.Agreement(h.Raw.Rate, exact)
	if math.Abs(sampled-exact) <= tol {
		return ""
	}
	return fmt.Sprintf("the sampled heap at the peak's GC mark, %s, differs from the runtime's exact figure, %s, by %+.1f%%, more than sampling explains (±%.1f%%): the attribution may miss or double-count memory",
		units.Bytes(int64(sampled)), units.Bytes(int64(exact)), 100*(sampled-exact)/exact, 100*tol/exact)
}

// agentOnly reports whether pkg is a standard-library package (the agent
// imports nothing else) that the program does not link itself.
func agentOnly(pkg string, program map[string]bool) bool {
	if pkg == "" || program[pkg] || strings.HasPrefix(pkg, "0x") || strings.HasPrefix(pkg, "_") {
		return false
	}
	first := pkg
	if i := strings.IndexByte(pkg, '/'); i >= 0 {
		first = pkg[:i]
	}
	return !strings.Contains(first, ".") && !strings.ContainsAny(pkg, " ()*")
}

// Correction is one adjustment of the sampled attribution, named, with its
// size and how it was made.
type Correction struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	How   string `json:"how"`
}
