package tracker

import (
	"runtime/metrics"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/tell"
	"github.com/gofil/gofil/peak"
)

// peakWriteEvery bounds how often the peak is rewritten while it keeps
// growing: a program killed meanwhile loses at most this much of it, or
// writeShare times what the last write took, when that is longer. The
// final and emergency accountings always write it.
const peakWriteEvery = 100 * time.Millisecond

// writeShare bounds the time the tracker spends rewriting its files while
// the program runs to about 1/writeShare of the program's: a file that took
// d to write is not rewritten within writeShare×d. A peak of a hundred
// thousand stacks takes tens of milliseconds to write.
const writeShare = 20

// writeGap is how long after a write that took took the next may start:
// every, or writeShare×took when that is longer.
func writeGap(every, took time.Duration) time.Duration {
	if g := writeShare * took; g > every {
		return g
	}
	return every
}

// writePeak writes the peak found so far as the run's peak, now or, if it
// was written less than peakGap ago, on a later tick. Errors are
// reported on stderr: the program goes on regardless.
func (t *tracker) writePeak() {
	t.peakDirty = true
	if t.since(t.peakWritten) >= t.peakGap {
		t.flushPeak()
	}
}

// flushPeak writes the peak if it changed since it was last written.
func (t *tracker) flushPeak() {
	if !t.peakDirty {
		return
	}
	p, ok := t.acc.Peak()
	if !ok {
		return
	}
	reason := t.momentName(p)
	t.peakDirty = false
	t.peakWritten = t.now()
	if err := raw.ReplaceJSON(t.dir, raw.PeakFile, t.profile(reason, p)); err != nil {
		tell.Warn("write peak: %v", err)
	}
	t.peakGap = writeGap(peakWriteEvery, t.since(t.peakWritten))
}

// momentName says how p's moment was found, for the instant its figures
// describe (peakTime): "gc" for a GC's mark while the program ran, the
// label of a mark the tracker started (the program's end, idle, an OOM
// dump) or of a later reading (outside), and "before-gc" when the moment is
// a reading before the mark that held more, garbage not yet swept
// included: a moment of the running program, even when the mark after it
// was the tracker's own at the program's end.
func (t *tracker) momentName(p peak.Peak) string {
	if p.Unswept > 0 && !p.Later.Known() {
		return "before-gc"
	}
	if r, ok := t.labels[p.Cycle]; ok {
		return r
	}
	return "gc"
}

// profile turns p into the raw file form, with the memory figures of the
// sample nearest to it: its stacks are symbolized as they are written,
// never all held at once. It must be written before the accountant's
// next snapshot, which reuses p's stacks.
func (t *tracker) profile(reason string, p peak.Peak) raw.ProfileStream {
	m := p.Moment()
	prof := &raw.Profile{
		Version:         raw.Version,
		Reason:          reason,
		Cycle:           p.Cycle,
		AtNS:            int64(peakTime(p)),
		Bytes:           p.Bytes,
		Objects:         p.Objects,
		SampledBytes:    p.Sampled,
		UnsweptBytes:    p.Unswept,
		LiveBytes:       p.LiveBytes,
		ExactBytes:      provenExact(p),
		MarkExactBytes:  p.MarkExact,
		MarkLiveBytes:   p.MarkLive,
		MarkLoBytes:     p.MarkBounds.Lo,
		MarkHiBytes:     p.MarkBounds.Hi,
		LiveFromCycle:   p.LiveFrom,
		LiveFromNS:      int64(p.LiveFromAt),
		Approximate:     p.Approximate,
		RSSBytes:        m.RSS,
		RSSAnonBytes:    m.RSSAnon,
		GoMappedBytes:   m.GoMapped,
		GoReleasedBytes: m.GoReleased,
		Rate:            t.rate,
		Frames:          []raw.Frame{},
	}
	prof.GOGC, prof.MemoryLimit = gcSettings()
	prof.Ledger = ledgerOf(t.heldMost(p))
	if p.Approximate {
		prof.LeastBytes, prof.LeastAtNS = p.Least.Heap, int64(p.Least.At)
	}
	// A bound within a hundredth of the peak says nothing of it: it is
	// the same heap, counted up to a later reading.
	if b, ok := t.acc.Bound(); ok && b.Memory() > p.Memory()+p.Memory()/100 {
		prof.BoundBytes = b.Exact()
		if prof.BoundBytes == 0 { // no reading of that moment: the pair's own
			prof.BoundBytes = uint64(b.Bytes)
		}
		prof.BoundAtNS = int64(peakTime(b))
	}
	// The frames first, as the file has them, then the stacks one at a
	// time, each symbolized again as it is written.
	table := newFrameTable(t)
	for _, s := range p.Stacks {
		table.scratch = table.appendStack(table.scratch[:0], p.PCs(s))
	}
	prof.Frames = append(prof.Frames, table.frames...)
	return raw.ProfileStream{Profile: prof, EachStack: func(yield func(*raw.Stack)) {
		var st raw.Stack
		frames := make([]int, 0, 64)
		for _, s := range p.Stacks {
			frames = table.appendStack(frames[:0], p.PCs(s))
			st = raw.Stack{
				Frames:      frames,
				Objects:     s.Objects,
				Bytes:       s.Bytes,
				LiveObjects: s.LiveObjects,
				LiveBytes:   s.LiveBytes,
				Truncated:   p.Truncated(s),
			}
			yield(&st)
		}
	}}
}

// peakTime is the moment of p: its reading (the GC count is polled, so the
// mark itself is seen up to one interval late), else when the mark was seen.
func peakTime(p peak.Peak) time.Duration {
	if m := p.Moment(); m.At > 0 {
		return m.At
	}
	return p.At
}

// createFile creates name in dir for the tracker's appends, with head as
// its first line: a file of its own, never one found there, and not
// through a link, which would redirect the writes. Its descriptor is kept
// out of the program's way (ownfd).
func createFile(dir, name, head string) (*ownfd.File, error) {
	f, err := ownfd.Open(joinPath(dir, name), syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(head); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// gcSettings reads the GC settings in force: GOGC (-1 for off) and the
// memory limit (math.MaxInt64 for none); nil where the runtime does not say.
func gcSettings() (gogc, limit *int64) {
	samples := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(samples)
	if samples[0].Value.Kind() == metrics.KindUint64 {
		v := int64(samples[0].Value.Uint64()) // off is -1, read as a uint64
		gogc = &v
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		v := int64(samples[1].Value.Uint64())
		limit = &v
	}
	return gogc, limit
}

// provenExact is the runtime's figure for p's moment when the readings
// prove it, else 0: unknown.
func provenExact(p peak.Peak) uint64 {
	if !p.Proven() {
		return 0
	}
	return p.Exact()
}

// heldMost is the reading that held the most memory, heap and outside
// it, of p's and the tracker's: the moment p's ledger describes. The peak
// is chosen by that memory, but its own readings may be from before its
// GC's mark, long before when the GC count stood still.
func (t *tracker) heldMost(p peak.Peak) peak.Memory {
	best := t.resident.best
	for _, m := range [...]peak.Memory{p.Mark, p.Before, p.Later} { // p.Moment() is one of them
		if m.Known() && m.Held() > best.Held() {
			best = m
		}
	}
	return best
}

// ledgerOf is what the process's memory was made of at the reading m; nil
// if m holds no runtime classes (a simulated runtime's).
func ledgerOf(m peak.Memory) *raw.Ledger {
	c, r := m.Classes, m.Resident
	if c.Metadata == 0 {
		return nil
	}
	l := &raw.Ledger{
		AtNS:              int64(m.At),
		RSSBytes:          m.RSS,
		HeapObjectsBytes:  m.Heap,
		HeapFreeBytes:     c.HeapFree,
		HeapUnusedBytes:   c.HeapUnused,
		HeapReleasedBytes: m.GoReleased,
		HeapStacksBytes:   c.HeapStacks,
		OSStacksBytes:     c.OSStacks,
		MetadataBytes:     c.Metadata,
		ProfilingBytes:    c.Profiling,
	}
	if r.Known() {
		l.ResidentAtNS = int64(r.At)
		l.ResidentTotalBytes, l.ResidentHeapBytes, l.ResidentAnonBytes, l.ResidentFilesBytes = r.Total, r.Heap, r.Anon, r.Files
	}
	return l
}
