package raw

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// The tracker encodes its files by hand rather than with encoding/json:
// encoding/json learns each type through reflection the first time it sees
// it and caches what it learnt, allocations whose stacks are deeper than the
// 32 frames the heap profile keeps. They would lose the tracker's frames and
// pass for the program's own. The encoders below follow the struct tags of
// the types exactly (omitempty included); a test holds them to
// encoding/json's output.

// encoder appends one JSON value. With w, it writes what it has to w
// whenever an element of a list leaves more than flushAt bytes, so that a
// large file is never held whole; err is the first error of w.
type encoder struct {
	b     []byte
	first bool // no member written yet in the current object
	w     io.Writer
	err   error
}

// flushAt is how much an encoder with a writer holds before it writes.
const flushAt = 32 << 10

// flush writes what e holds to e.w, if it has one and holds more than
// flushAt, or all of it (the end).
func (e *encoder) flush(all bool) {
	if e.w == nil || len(e.b) == 0 || !all && len(e.b) < flushAt {
		return
	}
	if e.err == nil {
		_, e.err = e.w.Write(e.b)
	}
	e.b = e.b[:0]
}

func (e *encoder) open() { e.b = append(e.b, '{'); e.first = true }

func (e *encoder) close() { e.b = append(e.b, '}'); e.first = false }

func (e *encoder) key(k string) {
	if !e.first {
		e.b = append(e.b, ',')
	}
	e.first = false
	e.b = appendString(e.b, k)
	e.b = append(e.b, ':')
}

func (e *encoder) str(k, v string) { e.key(k); e.b = appendString(e.b, v) }

func (e *encoder) int(k string, v int64) { e.key(k); e.b = strconv.AppendInt(e.b, v, 10) }

func (e *encoder) uint(k string, v uint64) { e.key(k); e.b = strconv.AppendUint(e.b, v, 10) }

func (e *encoder) bool(k string, v bool) { e.key(k); e.b = strconv.AppendBool(e.b, v) }

func (e *encoder) float(k string, v float64) {
	e.key(k)
	e.b = strconv.AppendFloat(e.b, v, 'g', -1, 64)
}

func (e *encoder) strOmit(k, v string) {
	if v != "" {
		e.str(k, v)
	}
}

func (e *encoder) intOmit(k string, v int64) {
	if v != 0 {
		e.int(k, v)
	}
}

func (e *encoder) uintOmit(k string, v uint64) {
	if v != 0 {
		e.uint(k, v)
	}
}

func (e *encoder) ints(k string, v []int) {
	e.key(k)
	e.b = appendInts(e.b, v)
}

// appendInts appends v as a JSON array of numbers, null for a nil slice.
func appendInts[T int | int64](b []byte, v []T) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, ']')
}

// list writes a JSON array of n elements, each by elem; null for a nil
// slice (isNil).
func (e *encoder) list(k string, n int, isNil bool, elem func(i int)) {
	e.key(k)
	if isNil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		elem(i)
		e.flush(false)
	}
	e.b = append(e.b, ']')
	e.first = false
}

// seq writes a JSON array whose elements are written one at a time
// between begin and end, each after a call to next. It is never null.
type seq struct {
	e *encoder
	n int
}

func (e *encoder) begin(k string) *seq {
	e.key(k)
	e.b = append(e.b, '[')
	return &seq{e: e}
}

// next starts an element, and lets the encoder write what the one before
// left.
func (s *seq) next() {
	if s.n > 0 {
		s.e.flush(false)
		s.e.b = append(s.e.b, ',')
	}
	s.n++
}

func (s *seq) end() {
	s.e.b = append(s.e.b, ']')
	s.e.first = false
}

// appendString appends s as a JSON string, as encoding/json writes it:
// control characters, quotes, backslashes and <, >, & escaped, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func (f Frame) encode(e *encoder) {
	e.open()
	e.str("func", f.Func)
	e.str("file", f.File)
	e.int("line", int64(f.Line))
	e.close()
}

func (s Stack) encode(e *encoder) {
	e.open()
	e.ints("frames", s.Frames)
	e.int("objects", s.Objects)
	e.int("bytes", s.Bytes)
	e.int("live_objects", s.LiveObjects)
	e.int("live_bytes", s.LiveBytes)
	if s.Truncated {
		e.bool("truncated", true)
	}
	e.close()
}

// encodeStacks writes the stacks each gives as "stacks".
func encodeStacks(e *encoder, each func(yield func([]int))) {
	q := e.begin("stacks")
	each(func(s []int) {
		q.next()
		e.b = appendInts(e.b, s)
	})
	q.end()
}

func encodeFrames(e *encoder, fs []Frame) {
	e.list("frames", len(fs), fs == nil, func(i int) { fs[i].encode(e) })
}

func (p *Profile) encode(e *encoder) { p.encodeWith(e, nil) }

// encodeWith writes p, with the stacks each gives instead of p.Stacks
// when each is not nil.
func (p *Profile) encodeWith(e *encoder, each func(yield func(*Stack))) {
	e.open()
	e.int("version", int64(p.Version))
	e.str("reason", p.Reason)
	e.uint("cycle", uint64(p.Cycle))
	e.int("at_ns", p.AtNS)
	e.int("bytes", p.Bytes)
	e.int("objects", p.Objects)
	e.int("sampled_bytes", p.SampledBytes)
	e.intOmit("unswept_bytes", p.UnsweptBytes)
	e.int("live_bytes", p.LiveBytes)
	e.uintOmit("mark_exact_bytes", p.MarkExactBytes)
	e.uintOmit("mark_live_bytes", p.MarkLiveBytes)
	e.uintOmit("mark_lo_bytes", p.MarkLoBytes)
	e.uintOmit("mark_hi_bytes", p.MarkHiBytes)
	e.uintOmit("live_from_cycle", uint64(p.LiveFromCycle))
	e.intOmit("live_from_ns", p.LiveFromNS)
	if p.GOGC != nil {
		e.int("gogc", *p.GOGC)
	}
	if p.MemoryLimit != nil {
		e.int("memory_limit", *p.MemoryLimit)
	}
	e.uintOmit("bound_bytes", p.BoundBytes)
	e.intOmit("bound_at_ns", p.BoundAtNS)
	if p.Approximate {
		e.bool("approximate", true)
	}
	e.uintOmit("least_bytes", p.LeastBytes)
	e.intOmit("least_at_ns", p.LeastAtNS)
	e.uint("exact_bytes", p.ExactBytes)
	e.uint("rss_bytes", p.RSSBytes)
	e.uint("rss_anon_bytes", p.RSSAnonBytes)
	e.uint("go_mapped_bytes", p.GoMappedBytes)
	e.uint("go_released_bytes", p.GoReleasedBytes)
	e.int("rate", int64(p.Rate))
	encodeFrames(e, p.Frames)
	if each != nil {
		q := e.begin("stacks")
		each(func(s *Stack) {
			q.next()
			s.encode(e)
		})
		q.end()
	} else {
		e.list("stacks", len(p.Stacks), p.Stacks == nil, func(i int) { p.Stacks[i].encode(e) })
	}
	e.uintOmit("limit_bytes", p.LimitBytes)
	e.strOmit("limit_source", p.LimitSource)
	e.uintOmit("usage_bytes", p.UsageBytes)
	e.intOmit("level", int64(p.Level))
	e.intOmit("crossed_unix_ns", p.CrossedUnixNS)
	e.intOmit("accounted_ns", p.AccountedNS)
	if p.Refined {
		e.bool("refined", true)
	}
	e.uintOmit("trigger_heap_bytes", p.TriggerHeapBytes)
	e.uintOmit("trigger_rss_bytes", p.TriggerRSSBytes)
	e.intOmit("first_dump_ns", p.FirstDumpNS)
	if p.Ledger != nil {
		e.key("ledger")
		p.Ledger.encode(e)
	}
	e.close()
}

func (l *Ledger) encode(e *encoder) {
	e.open()
	e.int("at_ns", l.AtNS)
	e.uint("rss_bytes", l.RSSBytes)
	e.uint("heap_objects_bytes", l.HeapObjectsBytes)
	e.uint("heap_free_bytes", l.HeapFreeBytes)
	e.uint("heap_unused_bytes", l.HeapUnusedBytes)
	e.uint("heap_released_bytes", l.HeapReleasedBytes)
	e.uint("heap_stacks_bytes", l.HeapStacksBytes)
	e.uint("os_stacks_bytes", l.OSStacksBytes)
	e.uint("metadata_bytes", l.MetadataBytes)
	e.uint("profiling_bytes", l.ProfilingBytes)
	e.int("resident_at_ns", l.ResidentAtNS)
	e.uint("resident_total_bytes", l.ResidentTotalBytes)
	e.uint("resident_heap_bytes", l.ResidentHeapBytes)
	e.uint("resident_anon_bytes", l.ResidentAnonBytes)
	e.uint("resident_files_bytes", l.ResidentFilesBytes)
	e.close()
}

func (h *History) encode(e *encoder) { h.encodeWith(e, nil, nil) }

// encodeWith writes h, with the stacks and points the functions give
// instead of h's when they are not nil.
func (h *History) encodeWith(e *encoder, stacks func(yield func([]int)), points func(yield func(*HistoryPoint))) {
	e.open()
	e.int("version", int64(h.Version))
	e.int("rate", int64(h.Rate))
	encodeFrames(e, h.Frames)
	if stacks != nil {
		encodeStacks(e, stacks)
	} else {
		e.list("stacks", len(h.Stacks), h.Stacks == nil, func(i int) { e.b = appendInts(e.b, h.Stacks[i]) })
	}
	point := func(pt *HistoryPoint) {
		e.open()
		e.int("at_ns", pt.AtNS)
		e.uint("cycle", uint64(pt.Cycle))
		e.list("values", len(pt.Values), pt.Values == nil, func(j int) { e.b = appendInts(e.b, pt.Values[j][:]) })
		e.close()
	}
	if points != nil {
		q := e.begin("points")
		points(func(pt *HistoryPoint) {
			q.next()
			point(pt)
		})
		q.end()
	} else {
		e.list("points", len(h.Points), h.Points == nil, func(i int) { point(&h.Points[i]) })
	}
	e.close()
}

func (m *Moments) encode(e *encoder) { m.encodeWith(e, nil, nil, nil) }

// encodeWith writes m, with the stacks and moments the functions give
// instead of m's when they are not nil, and each moment's changes as
// changes gives them when it is not nil.
func (m *Moments) encodeWith(e *encoder, stacks func(yield func([]int)), moments func(yield func(*Moment)), changes func(yield func([4]int64))) {
	e.open()
	e.int("version", int64(m.Version))
	e.int("rate", int64(m.Rate))
	encodeFrames(e, m.Frames)
	if stacks != nil {
		encodeStacks(e, stacks)
	} else {
		e.list("stacks", len(m.Stacks), m.Stacks == nil, func(i int) { e.b = appendInts(e.b, m.Stacks[i]) })
	}
	moment := func(mo *Moment) {
		e.open()
		e.uint("cycle", uint64(mo.Cycle))
		e.int("at_ns", mo.AtNS)
		e.int("bytes", mo.Bytes)
		e.int("live_bytes", mo.LiveBytes)
		e.uint("exact_bytes", mo.ExactBytes)
		if changes != nil && moments != nil {
			q := e.begin("changes")
			changes(func(c [4]int64) {
				q.next()
				e.b = appendInts(e.b, c[:])
			})
			q.end()
		} else {
			e.list("changes", len(mo.Changes), mo.Changes == nil, func(j int) { e.b = appendInts(e.b, mo.Changes[j][:]) })
		}
		e.close()
	}
	if moments != nil {
		q := e.begin("moments")
		moments(func(mo *Moment) {
			q.next()
			moment(mo)
		})
		q.end()
	} else {
		e.list("moments", len(m.Moments), m.Moments == nil, func(i int) { moment(&m.Moments[i]) })
	}
	e.close()
}

func (s *Start) encode(e *encoder) {
	e.open()
	e.int("version", int64(s.Version))
	e.int("pid", int64(s.PID))
	e.int("start_unix_ns", s.StartUnix)
	e.int("rate", int64(s.Rate))
	e.str("go_version", s.GoVersion)
	e.int("interval_ns", s.IntervalNS)
	e.bool("exit_hooks", s.ExitHooks)
	e.uintOmit("limit_bytes", s.LimitBytes)
	e.strOmit("limit_source", s.LimitSource)
	if s.OOMThreshold != 0 {
		e.float("oom_threshold", s.OOMThreshold)
	}
	e.strOmit("guard_error", s.GuardError)
	e.strOmit("env_gogc", s.EnvGOGC)
	e.strOmit("env_gomemlimit", s.EnvGOMEMLIMIT)
	e.strOmit("own_module", s.OwnModule)
	if s.Production {
		e.bool("production", true)
	}
	e.strOmit("program", s.Program)
	e.strOmit("host", s.Host)
	e.strOmit("build", s.Build)
	e.close()
}

func (x *Exit) encode(e *encoder) {
	e.open()
	e.int("version", int64(x.Version))
	e.str("how", x.How)
	e.int("at_ns", x.AtNS)
	e.uint("cycles", uint64(x.Cycles))
	e.int("paired", int64(x.Paired))
	e.int("gaps", int64(x.Gaps))
	e.int("snapshots", int64(x.Snapshots))
	e.int("tracker_ns", x.TrackerNS)
	e.uintOmit("max_rss_bytes", x.MaxRSSBytes)
	e.uintOmit("children_max_rss_bytes", x.ChildrenMaxRSSBytes)
	e.uintOmit("live_at_exit_bytes", x.LiveAtExitBytes)
	e.close()
}

func (x *Blocked) encode(e *encoder) {
	e.open()
	e.int("version", int64(x.Version))
	e.int("at_ns", x.AtNS)
	e.close()
}

// File is a value the tracker writes: one of *Profile, *History,
// *Moments, *Start, *Exit, *Blocked.
type File interface {
	encode(e *encoder)
}

// Encode returns f as JSON.
func Encode(f File) []byte {
	e := encoder{b: make([]byte, 0, 4096)}
	f.encode(&e)
	return e.b
}

// encodeTo writes f as JSON to w, holding at most about flushAt bytes of
// it (and one element of a list) at a time.
func encodeTo(w io.Writer, f File) error {
	e := encoder{b: make([]byte, 0, flushAt+flushAt/2), w: w}
	f.encode(&e)
	e.flush(true)
	return e.err
}

// ProfileStream is a Profile whose stacks are given one at a time while it
// is written (EachStack calls yield with each, which keeps nothing of it),
// so that they are never all held; the Profile's own Stacks are not
// written. Its JSON is the Profile's with those stacks.
type ProfileStream struct {
	*Profile
	EachStack func(yield func(*Stack))
}

func (s ProfileStream) encode(e *encoder) { s.Profile.encodeWith(e, s.EachStack) }

// Collect returns the Profile with its stacks.
func (s ProfileStream) Collect() *Profile {
	p := *s.Profile
	p.Stacks = []Stack{}
	s.EachStack(func(st *Stack) {
		c := *st
		c.Frames = clone(st.Frames)
		p.Stacks = append(p.Stacks, c)
	})
	return &p
}

// HistoryStream is a History whose stacks and points are given one at a
// time while it is written, as ProfileStream's stacks.
type HistoryStream struct {
	*History
	EachStack func(yield func([]int))
	EachPoint func(yield func(*HistoryPoint))
}

func (s HistoryStream) encode(e *encoder) { s.History.encodeWith(e, s.EachStack, s.EachPoint) }

// Collect returns the History with its stacks and points.
func (s HistoryStream) Collect() *History {
	h := *s.History
	h.Stacks, h.Points = [][]int{}, []HistoryPoint{}
	s.EachStack(func(st []int) { h.Stacks = append(h.Stacks, clone(st)) })
	s.EachPoint(func(pt *HistoryPoint) {
		c := *pt
		c.Values = clone(pt.Values)
		h.Points = append(h.Points, c)
	})
	return &h
}

// MomentsStream is a Moments whose stacks and moments are given one at a
// time while it is written, as ProfileStream's stacks.
type MomentsStream struct {
	*Moments
	EachStack  func(yield func([]int))
	EachMoment func(yield func(*Moment))
	// EachChange, when not nil, gives the changes of the moment EachMoment
	// has just given, one at a time while it is written, in place of its
	// Changes: a moment's changes are then never held all at once.
	EachChange func(yield func([4]int64))
}

func (s MomentsStream) encode(e *encoder) {
	s.Moments.encodeWith(e, s.EachStack, s.EachMoment, s.EachChange)
}

// Collect returns the Moments with its stacks and moments.
func (s MomentsStream) Collect() *Moments {
	m := *s.Moments
	m.Stacks, m.Moments = [][]int{}, []Moment{}
	s.EachStack(func(st []int) { m.Stacks = append(m.Stacks, clone(st)) })
	s.EachMoment(func(mo *Moment) {
		c := *mo
		c.Changes = clone(mo.Changes)
		if s.EachChange != nil {
			c.Changes = [][4]int64{}
			s.EachChange(func(ch [4]int64) { c.Changes = append(c.Changes, ch) })
		}
		m.Moments = append(m.Moments, c)
	})
	return &m
}

// clone copies s, nil as nil, for a stream's collected value to encode
// as the stream does.
func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}
