// Package pacer replays the Go GC pacer over a run under other GOGC and
// GOMEMLIMIT settings, from what the tracker logged at each GC cycle
// (raw/gc.tsv): the bytes allocated so far, the live heap the mark found,
// the stacks and globals it scanned and the runtime's memory beyond the
// heap.
//
// The model: what a program allocates, and what of it is live, depend on
// how far it has got (its cumulative allocation), not on the GC settings.
// The live heap between two marks of the real run is taken to rise
// linearly with allocation, and, when it falls, to stay up until the mark
// that saw it fall (a program lets go of its data at once). After the last
// mark it carries on along the line through the last two. A GC cycle ends
// when the heap, the last mark's live heap plus everything allocated since,
// has covered the share of the way to the goal the pacer set at that mark
// that the run's own cycles covered (RunwayUsed: the runtime starts a
// cycle early so that its mark ends before the goal). The goal
// (src/runtime/mgcpacer.go):
//
//	goal = live + (live + stacks + globals) × GOGC/100, at least 4 MiB × GOGC/100
//
// and, under a memory limit, at most the limit less the runtime's memory
// beyond the heap, less a headroom of 3% (at least 1 MiB), never below
// the live heap. The peak Go heap is the largest heap at a mark, or at the
// end. Cycles the program forces (runtime.GC) happen where they did;
// cycles the tracker started are not counted.
//
// Where it is wrong: a live heap that rises and falls between two marks
// of the real run (the replay sees the line between them; ReplayHeld
// gives the other reading of a fall at a forced GC); a limit so
// tight that the GC runs back to back, where the runtime caps its CPU and
// lets the heap grow past the goal; programs whose allocation depends on
// time (a server under load) rather than on their own progress.
package pacer

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gofil/gofil/internal/raw"
)

// Kinds of line in the log, as the tracker writes them.
const (
	kindStart   = raw.GCLogStart
	kindCycle   = raw.GCLogCycle
	kindForced  = raw.GCLogForced
	kindTracker = raw.GCLogTracker
	kindEnd     = raw.GCLogEnd
)

// Point is one line of the log: the runtime's figures read just after a
// mark (or at the start or end of the run). Live and Heap are the
// program's: what the tracker said it held itself (Own) is taken out of
// the runtime's figures, as the program would run without it.
type Point struct {
	Kind    byte
	Cycle   uint32
	AtUS    int64
	Allocs  uint64 // cumulative bytes allocated
	Live    uint64 // the live heap the last mark found
	Heap    uint64 // bytes in heap objects now
	Goal    uint64 // the heap goal the pacer set at the last mark
	Stacks  uint64
	Globals uint64
	NonHeap uint64 // the runtime's memory beyond the heap
	GOGC    int64  // −1: off
	Limit   uint64 // math.MaxInt64: none
	// Own is the tracker's own heap, as it counted it (0 in a log
	// written before it did).
	Own uint64
}

// Log is a run's GC log.
// Points are not to change once the log has been replayed: what the
// replays share is made from them once.
type Log struct {
	Points []Point
	shared *replayData
}

// replayData is what every replay of a log works from (curve).
type replayData struct {
	curve  []Point
	forced []uint64
	end    uint64
	ok     bool
	used   float64 // RunwayUsed
}

// maxLines bounds what Parse keeps: the tracker writes far fewer.
const maxLines = 1 << 20

// Parse reads a log as the tracker writes it. Lines it cannot read (cut
// short by a kill, garbled, too long) are skipped, and lines past maxLines
// are not read; only a failing reader is an error.
func Parse(r io.Reader) (*Log, error) {
	br := bufio.NewReaderSize(r, 4096)
	var log Log
	for len(log.Points) < maxLines {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Too long to be the tracker's: skip to the next line.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 && line[0] != '#' {
			if p, ok := parseLine(bytes.TrimRight(line, "\n")); ok {
				log.Points = append(log.Points, p)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return &log, nil
}

func parseLine(line []byte) (Point, bool) {
	f := strings.Split(string(line), "\t")
	if len(f) != 12 && len(f) != 13 || len(f[0]) != 1 {
		return Point{}, false
	}
	var p Point
	p.Kind = f[0][0]
	var u [9]uint64
	for i, s := range append([]string{f[1]}, f[3:11]...) {
		if i == 8 { // gogc is signed
			break
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Point{}, false
		}
		u[i] = v
	}
	at, err1 := strconv.ParseInt(f[2], 10, 64)
	gogc, err2 := strconv.ParseInt(f[10], 10, 64)
	limit, err3 := strconv.ParseUint(f[11], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || u[0] > math.MaxUint32 {
		return Point{}, false
	}
	p.Cycle, p.AtUS = uint32(u[0]), at
	p.Allocs, p.Live, p.Heap, p.Goal, p.Stacks, p.Globals, p.NonHeap = u[1], u[2], u[3], u[4], u[5], u[6], u[7]
	p.GOGC, p.Limit = gogc, limit
	if len(f) == 13 {
		own, err := strconv.ParseUint(f[12], 10, 64)
		if err != nil {
			return Point{}, false
		}
		p.Own = own
		p.Live, p.Heap = sub(p.Live, own), sub(p.Heap, own)
	}
	switch p.Kind {
	case kindStart, kindCycle, kindForced, kindTracker, kindEnd:
		return p, true
	}
	return Point{}, false
}

// Settings are GC settings: GOGC (−1 for off) and GOMEMLIMIT in bytes (0
// for none).
type Settings struct {
	GOGC  int64
	Limit uint64
}

// String names s as the environment would set it: "GOGC=100",
// "GOGC=off GOMEMLIMIT=512MiB".
func (s Settings) String() string {
	if s.Limit == 0 {
		return s.GOGCText()
	}
	return s.GOGCText() + " " + s.LimitText()
}

// GOGCText is s's GOGC as the environment would set it.
func (s Settings) GOGCText() string {
	if s.GOGC < 0 {
		return "GOGC=off"
	}
	return "GOGC=" + strconv.FormatInt(s.GOGC, 10)
}

// LimitText is s's memory limit as the environment would set it, in MiB;
// "" for none.
func (s Settings) LimitText() string {
	if s.Limit == 0 {
		return ""
	}
	return "GOMEMLIMIT=" + strconv.FormatUint(s.Limit>>20, 10) + "MiB"
}

// Prediction is what the replay gives for one setting.
type Prediction struct {
	Settings
	// PeakHeap is the largest Go heap (bytes in heap objects, garbage
	// awaiting the sweep included), Cycles the number of GC cycles.
	PeakHeap uint64
	Cycles   int
}

// Actual returns the settings the program ran with at its end, and
// whether the log has any.
func (l *Log) Actual() (Settings, bool) {
	for i := len(l.Points) - 1; i >= 0; i-- {
		p := l.Points[i]
		if p.Kind == kindTracker {
			continue // the tracker lowers the goal to start its own cycles
		}
		s := Settings{GOGC: p.GOGC}
		if p.Limit < math.MaxInt64 {
			s.Limit = p.Limit
		}
		return s, true
	}
	return Settings{}, false
}

// Measured returns the run's own figures: the largest heap at a mark of a
// cycle the program or the runtime ran, or at the end, and the number of
// those cycles; ok is false when the log cannot tell.
func (l *Log) Measured() (peakHeap uint64, cycles int, ok bool) {
	pts := l.Points
	if len(pts) < 2 || pts[0].Kind != kindStart {
		return 0, 0, false
	}
	prev := pts[0]
	for _, p := range pts[1:] {
		if p.Kind == kindEnd {
			// Cycles the program ran since the last line, seen only at
			// its end (a tracker polling slowly).
			cycles += int(p.Cycle - prev.Cycle)
			if h := prev.Live + sub(p.Allocs, prev.Allocs); h > peakHeap && p.Cycle == prev.Cycle {
				peakHeap = h
			}
			if p.Heap > peakHeap {
				peakHeap = p.Heap
			}
			break
		}
		if p.Kind != kindTracker {
			cycles += int(p.Cycle - prev.Cycle)
		}
		// The heap read just after the mark: a floor for the heap at it,
		// for marks whose predecessor the log does not hold (thinned, or
		// missed).
		if p.Kind != kindTracker && p.Heap > peakHeap {
			peakHeap = p.Heap
		}
		// The heap at this mark: the last mark's live heap and what was
		// allocated since, when the mark before was seen.
		if p.Cycle == prev.Cycle+1 {
			if h := prev.Live + sub(p.Allocs, prev.Allocs); h > peakHeap {
				peakHeap = h
			}
		}
		prev = p
	}
	return peakHeap, cycles, true
}

// Replay predicts the peak Go heap and the GC cycles under s.
func (l *Log) Replay(s Settings) (Prediction, bool) { return l.replay(s, false) }

// ReplayHeld is Replay under the other reading of a GC the program forced
// right after letting go of its data: the live heap fell at that mark, and
// what was allocated since the mark before may have been garbage all
// along (Replay's reading) or data held until the program let go of it
// (this one: it is live until the forced mark). A setting is worth
// advising only if it helps under both readings.
func (l *Log) ReplayHeld(s Settings) (Prediction, bool) { return l.replay(s, true) }

// HeldDiffers reports whether the log has a forced GC whose mark found
// less live than the mark before, so that ReplayHeld can differ from
// Replay.
func (l *Log) HeldDiffers() bool {
	curve, _, _, ok := l.curve()
	if !ok {
		return false
	}
	for i := 1; i < len(curve); i++ {
		if fellAtForced(curve[i-1], curve[i]) {
			return true
		}
	}
	return false
}

// fellAtForced reports whether the program forced the GC of q, whose mark
// found less live than p's, the mark before.
func fellAtForced(p, q Point) bool {
	return q.Kind == kindForced && q.Live < p.Live && q.Allocs > p.Allocs
}

func (l *Log) replay(s Settings, held bool) (Prediction, bool) {
	curve, forced, end, ok := l.curve()
	if !ok {
		return Prediction{}, false
	}
	used := l.shared.used
	pr := Prediction{Settings: s}
	a, live := curve[0].Allocs, curve[0].Heap
	goal := goalAt(s, live, curve[0])
	pr.PeakHeap = live
	ci := 0 // the curve's segment the replay has reached
	for fi := 0; ; {
		// a < end here; the runway may be anything up to "never" (GOGC
		// off), so it is compared with what is left, never added blind.
		next := end
		if r := runway(goal, live, used); r < end-a {
			next = a + r
		}
		isForced := false
		for fi < len(forced) && forced[fi] <= a {
			fi++
		}
		if fi < len(forced) && forced[fi] <= next {
			next, isForced = forced[fi], true
		}
		if next >= end {
			pr.PeakHeap = max(pr.PeakHeap, add64(live, end-a))
			return pr, true
		}
		heap := add64(live, next-a)
		pr.PeakHeap = max(pr.PeakHeap, heap)
		pr.Cycles++
		if pr.Cycles > maxCycles+100*len(curve) {
			return Prediction{}, false
		}
		at := interpolate(curve, next, &ci, held)
		a, live = next, at.Live
		if live > heap {
			live = heap
		}
		goal = goalAt(s, live, at)
		if isForced {
			fi++
		}
	}
}

// maxCycles, plus a hundred per mark of the run, bounds a replay: a
// setting that would need more cycles is not predicted.
const maxCycles = 100_000

// curve returns the points the live heap is interpolated between (the
// start, then every mark), the allocation at which the program forced a
// GC, and the allocation at the end.
func (l *Log) curve() (curve []Point, forced []uint64, end uint64, ok bool) {
	if l.shared == nil {
		c, f, e, ok := makeCurve(l.Points)
		l.shared = &replayData{c, f, e, ok, runwayUsed(l.Points)}
	}
	d := l.shared
	return d.curve, d.forced, d.end, d.ok
}

// RunwayUsed is the share of its runway (goal less live heap) a GC cycle
// of the run allocated before its mark ended: the median over the cycles
// the runtime started whose predecessor the log holds, each weighed by its
// runway, so that the large cycles, where a peak is, count most; 1 when
// fewer than minUsedCycles tell. The runtime starts a cycle early enough
// for its mark to end before the goal, so the share is below 1 (on
// the first form of testdata/pacing, 0.89); small cycles early in a run
// can overshoot.
func (l *Log) RunwayUsed() float64 {
	if l.shared == nil {
		l.curve()
	}
	return l.shared.used
}

// runwayUsed computes RunwayUsed from the points.
func runwayUsed(pts []Point) float64 {
	type share struct{ used, runway float64 }
	var shares []share
	var total float64
	for i := 1; i < len(pts); i++ {
		prev, p := pts[i-1], pts[i]
		if p.Kind != kindCycle || p.Cycle != prev.Cycle+1 || prev.Kind == kindTracker || prev.Kind == kindEnd {
			continue
		}
		// The runtime's goal is of its live heap, the tracker's included.
		live := prev.Live + prev.Own
		if prev.Goal <= live || prev.Goal-live < minRunway || prev.Goal >= 1<<60 || p.Allocs < prev.Allocs {
			continue
		}
		w := float64(prev.Goal - live)
		shares = append(shares, share{float64(p.Allocs-prev.Allocs) / w, w})
		total += w
	}
	if len(shares) < minUsedCycles {
		return 1
	}
	sort.Slice(shares, func(i, j int) bool { return shares[i].used < shares[j].used })
	m, seen := shares[len(shares)-1].used, 0.0
	for _, s := range shares {
		if seen += s.runway; seen >= total/2 {
			m = s.used
			break
		}
	}
	return math.Max(0.5, math.Min(1, m))
}

// minUsedCycles is the fewest cycles RunwayUsed is measured from.
const minUsedCycles = 3

// makeCurve is curve, made from the log's points.
func makeCurve(pts []Point) (curve []Point, forced []uint64, end uint64, ok bool) {
	if len(pts) < 2 || pts[0].Kind != kindStart {
		return nil, nil, 0, false
	}
	curve = append(curve, pts[0])
	end = pts[len(pts)-1].Allocs
	for _, p := range pts[1:] {
		if p.Kind == kindEnd {
			end = p.Allocs
			curve = append(curve, endPoint(curve, p))
			break
		}
		if p.Allocs < curve[len(curve)-1].Allocs {
			continue
		}
		curve = append(curve, p)
		if p.Kind == kindForced {
			forced = append(forced, p.Allocs)
		}
		end = p.Allocs
	}
	smoothNonHeap(curve)
	return curve, forced, end, end > curve[0].Allocs
}

// endPoint is the curve's last point, at the program's end: the live heap
// then is not known (no mark saw it), so the line through the last two
// marks is carried on, rising, never falling, and never past what was
// allocated since the last mark.
func endPoint(curve []Point, e Point) Point {
	last := curve[len(curve)-1]
	out := last
	out.Kind, out.Allocs, out.Heap, out.NonHeap = kindEnd, e.Allocs, e.Heap, e.NonHeap
	if len(curve) < 2 || e.Allocs <= last.Allocs {
		return out
	}
	prev := curve[len(curve)-2]
	if last.Live > prev.Live && last.Allocs > prev.Allocs {
		slope := float64(last.Live-prev.Live) / float64(last.Allocs-prev.Allocs)
		if slope > 1 {
			slope = 1
		}
		out.Live = last.Live + uint64(slope*float64(e.Allocs-last.Allocs))
	}
	return out
}

// smoothNonHeap replaces each point's memory beyond the heap by the least
// of it and its neighbours', four on each side. Read after a sweep, it
// holds the spans the sweep left partly empty, which the heap fills again
// as it grows back to its goal: at the moment the limit matters, the heap
// at its largest, they are not beyond it. Several readings in a row can
// fall after their sweep.
func smoothNonHeap(curve []Point) {
	raw := make([]uint64, len(curve))
	for i := range curve {
		raw[i] = curve[i].NonHeap
	}
	for i := range curve {
		for j := i - 4; j <= i+4; j++ {
			if j >= 0 && j < len(raw) && raw[j] < curve[i].NonHeap {
				curve[i].NonHeap = raw[j]
			}
		}
	}
}

// LargestLive returns the largest live heap a mark of the run found and
// the runtime's memory beyond the heap then (smoothed as the replay does).
func (l *Log) LargestLive() (live, nonHeap uint64) {
	curve, _, _, ok := l.curve()
	if !ok {
		return 0, 0
	}
	for _, p := range curve[1:] {
		if p.Live > live {
			live, nonHeap = p.Live, p.NonHeap
		}
	}
	return live, nonHeap
}

// interpolate returns the figures at allocation a, between the points of
// the curve on either side of it. *from is the segment to look from, moved
// on to a's: the replay's allocation only grows. With held, before a
// forced GC whose mark found less live than the mark before
// (fellAtForced), everything allocated since that mark is live.
func interpolate(curve []Point, a uint64, from *int, held bool) Point {
	i := *from
	for i+1 < len(curve) && curve[i+1].Allocs < a {
		i++
	}
	*from = i
	if i+1 >= len(curve) {
		return curve[len(curve)-1]
	}
	p, q := curve[i], curve[i+1]
	if q.Allocs <= p.Allocs {
		return q
	}
	f := float64(a-p.Allocs) / float64(q.Allocs-p.Allocs)
	mix := func(x, y uint64) uint64 { return uint64(float64(x) + f*(float64(y)-float64(x))) }
	live := mix(p.Live, q.Live)
	if q.Live < p.Live {
		// A program lets go of its data at once (and often calls
		// runtime.GC right after): a falling live heap stays up until
		// the mark that saw it fall.
		live = p.Live
		if held && fellAtForced(p, q) && a < q.Allocs {
			live = add64(p.Live, a-p.Allocs)
		}
	}
	return Point{Allocs: a, Live: live, Stacks: mix(p.Stacks, q.Stacks), Globals: mix(p.Globals, q.Globals), NonHeap: mix(p.NonHeap, q.NonHeap)}
}

// goalAt is the heap goal the pacer sets at a mark that found live bytes,
// with the stacks, globals and memory beyond the heap of at.
func goalAt(s Settings, live uint64, at Point) uint64 {
	goal := uint64(math.MaxUint64)
	if s.GOGC >= 0 {
		g := float64(s.GOGC) / 100
		goal = live + uint64(float64(live+at.Stacks+at.Globals)*g)
		if min := uint64(float64(4<<20) * g); goal < min {
			goal = min
		}
	}
	if s.Limit > 0 {
		lim := live
		if s.Limit > at.NonHeap {
			lim = s.Limit - at.NonHeap
			headroom := lim / 100 * 3
			if headroom < 1<<20 {
				headroom = 1 << 20
			}
			if lim > 2*headroom {
				lim -= headroom
			} else {
				lim = headroom
			}
		}
		if lim < live {
			lim = live
		}
		if lim < goal {
			goal = lim
		}
	}
	return goal
}

// runway is how much the program allocates between two marks: the share
// used of the way to the goal, and at least minRunway, since a GC that
// finds the goal already reached starts again at once while the program
// keeps allocating.
func runway(goal, live uint64, used float64) uint64 {
	r := uint64(minRunway)
	if goal > live {
		switch w := float64(goal-live) * used; {
		case w >= math.MaxUint64/2: // no goal (GOGC=off)
			r = goal - live
		case uint64(w) > r:
			r = uint64(w)
		}
	}
	return r
}

// minRunway is the least the program is taken to allocate during one GC
// cycle.
const minRunway = 1 << 20

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// add64 is a+b, or the largest uint64 if that overflows.
func add64(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
