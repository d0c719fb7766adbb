package tracker

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/peak"
)

// peakWriteEvery bounds how often the peak is rewritten while it keeps
// growing: a program killed meanwhile loses at most this much of it. The
// final and emergency accountings always write it.
const peakWriteEvery = 100 * time.Millisecond

// writePeak writes the peak found so far as the run's peak, now or, if it
// was written less than peakWriteEvery ago, on a later tick. Errors are
// reported on stderr: the program goes on regardless.
func (t *tracker) writePeak() {
	t.peakDirty = true
	if time.Since(t.peakWritten) >= peakWriteEvery {
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
	t.peakWritten = time.Now()
	if err := raw.ReplaceJSON(t.dir, raw.PeakFile, t.profile(reason, p)); err != nil {
		warn("write peak: %v", err)
	}
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
// sample nearest to it.
func (t *tracker) profile(reason string, p peak.Peak) *raw.Profile {
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
		ExactBytes:      p.Exact(),
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
		Stacks:          make([]raw.Stack, 0, len(p.Stacks)),
	}
	prof.GOGC, prof.MemoryLimit = gcSettings()
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
	table := frameTable{t: t, index: make(map[raw.Frame]int)}
	for _, s := range p.Stacks {
		prof.Stacks = append(prof.Stacks, raw.Stack{
			Frames:      table.stack(s.PCs),
			Objects:     s.Objects,
			Bytes:       s.Bytes,
			LiveObjects: s.LiveObjects,
			LiveBytes:   s.LiveBytes,
			Truncated:   s.Truncated(),
		})
	}
	prof.Frames = append(prof.Frames, table.frames...)
	return prof
}

// peakTime is the moment of p: its reading (the GC count is polled, so the
// mark itself is seen up to one interval late), else when the mark was seen.
func peakTime(p peak.Peak) time.Duration {
	if m := p.Moment(); m.At > 0 {
		return m.At
	}
	return p.At
}

// stackTable numbers the distinct allocation stacks it is given, and keeps
// each one's return addresses once.
type stackTable struct {
	ids map[[32]uintptr]int
	pcs [][]uintptr
}

// id returns the number of the stack pcs (leaf first, as a heap-profile
// record holds them), adding it if it is new.
func (st *stackTable) id(pcs []uintptr) int {
	var key [32]uintptr
	copy(key[:], pcs)
	if idx, ok := st.ids[key]; ok {
		return idx
	}
	if st.ids == nil {
		st.ids = make(map[[32]uintptr]int)
	}
	idx := len(st.pcs)
	st.ids[key] = idx
	st.pcs = append(st.pcs, append([]uintptr(nil), pcs...))
	return idx
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

// frameTable symbolizes stacks into one table of distinct frames, as the
// raw files store them.
type frameTable struct {
	t      *tracker
	index  map[raw.Frame]int
	frames []raw.Frame
}

// stack returns the table indexes of the frames of pcs, leaf first,
// inlined calls included.
func (ft *frameTable) stack(pcs []uintptr) []int {
	out := []int{}
	for _, pc := range pcs {
		for _, f := range ft.t.frames(pc) {
			i, ok := ft.index[f]
			if !ok {
				i = len(ft.frames)
				ft.index[f] = i
				ft.frames = append(ft.frames, f)
			}
			out = append(out, i)
		}
	}
	return out
}

// frames symbolizes one return address, inlined calls included, leaf first.
func (t *tracker) frames(pc uintptr) []raw.Frame {
	if fs, ok := t.frameCache[pc]; ok {
		return fs
	}
	var fs []raw.Frame
	it := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := it.Next()
		name := f.Function
		if name == "" {
			name = "0x" + strconv.FormatUint(uint64(pc), 16)
		}
		fs = append(fs, raw.Frame{Func: name, File: f.File, Line: f.Line})
		if !more {
			break
		}
	}
	t.frameCache[pc] = fs
	return fs
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
