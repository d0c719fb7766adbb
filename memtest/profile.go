package memtest

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// snapshot is one copy of the heap profile (runtime.MemProfile), taken
// wholly within one GC cycle.
type snapshot struct {
	cycles uint64
	recs   []runtime.MemProfileRecord
}

// recordSize is the size of one runtime.MemProfileRecord.
const recordSize = 4*8 + 32*8

// take copies the heap profile into s, growing its buffer if need be. It
// retries until the GC cycle count
// reads the same before and after the copy, so that the copy belongs to
// one cycle.
func (s *snapshot) take(cycles func() uint64) {
	for {
		c := cycles()
		n, ok := runtime.MemProfile(s.recs[:cap(s.recs)], true)
		if !ok {
			grown := n + n/4 + 256
			s.recs = make([]runtime.MemProfileRecord, 0, grown)
			continue
		}
		if cycles() != c {
			continue
		}
		s.recs = s.recs[:n]
		s.cycles = c
		return
	}
}

// copyFrom makes s a copy of o, reusing its buffer.
func (s *snapshot) copyFrom(o *snapshot) {
	if cap(s.recs) < len(o.recs) {
		s.recs = make([]runtime.MemProfileRecord, 0, cap(o.recs))
	}
	s.recs = append(s.recs[:0], o.recs...)
	s.cycles = o.cycles
}

// bucketKey names a heap profile record: the runtime keeps one per stack
// and allocation size.
type bucketKey struct {
	stack [32]uintptr
	size  int64
}

func keyOf(r *runtime.MemProfileRecord) (bucketKey, bool) {
	if r.AllocObjects == 0 {
		return bucketKey{}, false
	}
	return bucketKey{r.Stack0, r.AllocBytes / r.AllocObjects}, true
}

// A site is where a stack allocated: its first frame outside the runtime.
type site struct {
	Func string
	File string
	Line int
}

// A siteBytes is what one site held, as estimated from the samples.
type siteBytes struct {
	site
	Bytes   int64
	Objects int64
}

// attribution is the heap the samples show, per stack and size.
type attribution struct {
	rate    int64
	buckets map[bucketKey]*held
}

// held is what one record adds: objects and bytes, unbiased.
type held struct {
	objects, bytes int64
}

// attribute computes what each record held at a moment: the allocations
// counted in alloc minus the frees counted in free, less what the record
// held when the scope opened (base). Each record is unbiased at its own
// size for the sampling rate, as runtime/pprof does; negative figures
// (records that freed more than they allocated in the scope) count zero.
func attribute(alloc, free, base *snapshot, rate int64) *attribution {
	a := &attribution{rate: rate, buckets: map[bucketKey]*held{}}
	type raw struct{ objects, bytes int64 }
	sums := map[bucketKey]*raw{}
	get := func(k bucketKey) *raw {
		r := sums[k]
		if r == nil {
			r = &raw{}
			sums[k] = r
		}
		return r
	}
	for i := range alloc.recs {
		r := &alloc.recs[i]
		if k, ok := keyOf(r); ok {
			s := get(k)
			s.objects += r.AllocObjects
			s.bytes += r.AllocBytes
		}
	}
	for i := range free.recs {
		r := &free.recs[i]
		if k, ok := keyOf(r); ok {
			s := get(k)
			s.objects -= r.FreeObjects
			s.bytes -= r.FreeBytes
		}
	}
	for i := range base.recs {
		r := &base.recs[i]
		if k, ok := keyOf(r); ok {
			s := get(k)
			s.objects -= r.AllocObjects - r.FreeObjects
			s.bytes -= r.AllocBytes - r.FreeBytes
		}
	}
	for k, s := range sums {
		if s.objects <= 0 || s.bytes <= 0 {
			continue
		}
		scale := unbias(k.size, rate)
		a.buckets[k] = &held{objects: int64(float64(s.objects) * scale), bytes: int64(float64(s.bytes) * scale)}
	}
	return a
}

// ownPrefix is the prefix of the functions whose allocations are the
// measurement's own.
const ownPrefix = "github.com/gofil/gofil/memtest.(*watcher)"

// stackInfo is what a stack's frames say: its site, whether it is the
// measurement's own, whether an ignored function is on it.
type stackInfo struct {
	site    site
	own     bool
	ignored bool
}

// describe symbolizes a stack.
func describe(stack [32]uintptr, ignore []string) stackInfo {
	n := 0
	for n < len(stack) && stack[n] != 0 {
		n++
	}
	var info stackInfo
	found := false
	frames := runtime.CallersFrames(stack[:n])
	for {
		f, more := frames.Next()
		fn := f.Function
		if strings.HasPrefix(fn, ownPrefix) {
			info.own = true
		}
		for _, name := range ignore {
			if fn == name {
				info.ignored = true
			}
		}
		inRuntime := strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime/")
		if !found && (!inRuntime || info.site.Func == "") {
			info.site = site{Func: fn, File: f.File, Line: f.Line}
			found = !inRuntime
		}
		if !more {
			break
		}
	}
	return info
}

// sites sums an attribution per site, leaving out the measurement's own
// stacks; ignored is what the stacks with an ignored function held. The
// sites come largest first.
func (a *attribution) sites(ignore []string) (sites []siteBytes, total, ignored int64) {
	infos := map[[32]uintptr]stackInfo{}
	per := map[site]*siteBytes{}
	for k, h := range a.buckets {
		info, ok := infos[k.stack]
		if !ok {
			info = describe(k.stack, ignore)
			infos[k.stack] = info
		}
		switch {
		case info.own:
			continue
		case info.ignored:
			ignored += h.bytes
			continue
		}
		s := per[info.site]
		if s == nil {
			s = &siteBytes{site: info.site}
			per[info.site] = s
		}
		s.Bytes += h.bytes
		s.Objects += h.objects
		total += h.bytes
	}
	for _, s := range per {
		sites = append(sites, *s)
	}
	sort.Slice(sites, func(i, j int) bool {
		if sites[i].Bytes != sites[j].Bytes {
			return sites[i].Bytes > sites[j].Bytes
		}
		return sites[i].Func < sites[j].Func
	})
	return sites, total, ignored
}

// shortFile is a file's path relative to the working directory (a test's
// package directory) when it lies below it, else the full path.
func shortFile(file string) string {
	wd, err := os.Getwd()
	if err != nil {
		return file
	}
	rel, err := filepath.Rel(wd, file)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return file
	}
	return rel
}

// freed is the bytes the snapshot counts as freed, unbiased at rate.
func (s *snapshot) freed(rate int64) float64 {
	var sum float64
	for i := range s.recs {
		r := &s.recs[i]
		if r.FreeBytes == 0 || r.AllocObjects == 0 {
			continue
		}
		sum += float64(r.FreeBytes) * unbias(r.AllocBytes/r.AllocObjects, rate)
	}
	return sum
}

// unbias is the factor that turns sampled bytes of objects of a size into
// an estimate of all bytes, as runtime/pprof's scaleHeapSample: an
// object of size s is sampled with probability 1 − exp(−s/rate).
func unbias(size, rate int64) float64 {
	if rate <= 1 {
		return 1
	}
	return 1 / (1 - math.Exp(-float64(size)/float64(rate)))
}
