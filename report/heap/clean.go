package heap

import (
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/heapprof"
	"github.com/gofil/gofil/internal/raw"
)

// Clean's rules, frameFate and runtimeLeaf, are the one account of
// gofil's own part of a heap: Clean applies them to a pprof profile, and a
// Cleaner to the tracker's profiles, giving the heap that FromProfile would
// make of Clean(FromRaw(p)).

// FromRaw converts the tracker's heap into a pprof heap profile with the
// sample types inuse_objects, inuse_space, live_objects and live_space
// (what the GC at the moment found reachable), each stack with all its
// frames, the agent's included, and truncated stacks labelled so.
func FromRaw(p raw.Profile) *profile.Profile {
	q := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
			{Type: "live_objects", Unit: "count"},
			{Type: "live_space", Unit: "bytes"},
		},
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            int64(p.Rate),
	}
	b := heapprof.NewBuilder(q, nil)
	for _, s := range p.Stacks {
		frames := make([]raw.Frame, 0, len(s.Frames))
		for i := len(s.Frames) - 1; i >= 0; i-- { // root first
			if idx := s.Frames[i]; idx >= 0 && idx < len(p.Frames) {
				frames = append(frames, p.Frames[idx])
			}
		}
		var labels map[string][]string
		if s.Truncated {
			labels = map[string][]string{"truncated": {"true"}}
		}
		b.Add(frames, []int64{s.Objects, s.Bytes, s.LiveObjects, s.LiveBytes}, labels)
	}
	return q
}

// Clean takes gofil's own part out of a heap profile, as pprof's drop and
// hide options do: it returns the profile without the samples of the
// tracker (a frame of the agent's, or, when the program's packages are
// known, of a standard-library package only the agent links) and with the
// frames gofil's build added hidden (the injected main, RunMain) or renamed
// back (the program's own main), and the runtime's frames at the leaf
// hidden, as runtime/pprof hides them. The second result is what the tracker's samples held, per sample type.
func Clean(p *profile.Profile, pkgs map[string]bool) (*profile.Profile, []int64) {
	q := &profile.Profile{
		SampleType:        p.SampleType,
		DefaultSampleType: p.DefaultSampleType,
		PeriodType:        p.PeriodType,
		Period:            p.Period,
		Comments:          p.Comments,
		TimeNanos:         p.TimeNanos,
		DurationNanos:     p.DurationNanos,
	}
	var mapping *profile.Mapping
	if len(p.Mapping) > 0 {
		m := *p.Mapping[0]
		m.ID = 1
		mapping = &m
	}
	b := heapprof.NewBuilder(q, mapping)
	own := make([]int64, len(p.SampleType))
	for _, s := range p.Sample {
		frames, tracker := cleanFrames(heapprof.Frames(s), pkgs)
		if tracker {
			for i := range own {
				if i < len(s.Value) {
					own[i] += s.Value[i]
				}
			}
			continue
		}
		b.Add(frames, s.Value, s.Label)
	}
	return q, own
}

// fate is what Clean does with a frame.
type fate uint8

const (
	keepFrame    fate = iota
	hideFrame         // a frame gofil's build added, or one that says nothing of who allocated (heapprof.Hidden)
	trackerStack      // a frame of the tracker's: the whole stack is its
)

// frameFate is Clean's rule for one frame: what becomes of it and, kept,
// how it shows.
func frameFate(f raw.Frame, pkgs map[string]bool) (fate, raw.Frame) {
	switch {
	case f.Func == gofil.RunMain:
		return hideFrame, f
	case slices.Contains(gofil.AgentPackages, flamegraph.PackagePath(f.Func)):
		return trackerStack, f
	case pkgs != nil && agentOnly(flamegraph.PackagePath(f.Func), pkgs):
		return trackerStack, f
	case f.Func == "main.main" && strings.HasSuffix(f.File, gofil.InjectedFile):
		return hideFrame, f
	case strings.HasPrefix(f.Func, userMainName):
		// main.gofil_userMain, main.gofil_userMain.func1, ...
		f.Func = "main.main" + f.Func[len(userMainName):]
	case heapprof.Hidden(f.Func):
		return hideFrame, f
	}
	return keepFrame, f
}

// cleanFrames applies Clean's frame rules to one stack, root first, and
// says whether it is the tracker's.
func cleanFrames(frames []raw.Frame, pkgs map[string]bool) ([]raw.Frame, bool) {
	out := frames[:0:0]
	for _, f := range frames {
		switch fa, g := frameFate(f, pkgs); fa {
		case trackerStack:
			return nil, true
		case keepFrame:
			out = append(out, g)
		}
	}
	return out[:runtimeLeaf(out)], false
}

// runtimeLeaf is where the runtime's frames at the leaf of frames (root
// first) begin, the allocator's (runtime.makeslice, runtime.newobject,
// ...): they go, as runtime/pprof hides them, unless the whole stack is
// the runtime's.
func runtimeLeaf(frames []raw.Frame) int {
	leaf := len(frames)
	for leaf > 0 && heapprof.IsRuntime(frames[leaf-1].Func) {
		leaf--
	}
	if leaf == 0 {
		return len(frames)
	}
	return leaf
}

// Cleaner makes heaps of the tracker's profiles that share one frame
// table, such as the moments of a run: it decides each frame's fate under
// Clean's rules once, and takes each stack's frames from a Pool. A heap it
// makes is the one Clean(FromRaw(p)) and FromProfile would make, without
// the two profiles between.
//
//	c := heap.NewCleaner(moments.Frames, pkgs, pool)
//	h := c.Heap(p) // p.Stacks index moments.Frames
type Cleaner struct {
	fates   []fate
	ids     []int32 // of each kept frame, as it shows, in the pool
	runtime []bool  // of each frame, whether it is the runtime's (heapprof.IsRuntime)
	pool    *Pool
	scratch []int32
}

// NewCleaner returns a Cleaner of profiles whose stacks index frames,
// whose heaps take their stacks' frames from pool (a pool of its own if
// nil). pkgs are the packages the program links without the agent, nil if
// not known.
func NewCleaner(frames []raw.Frame, pkgs map[string]bool, pool *Pool) *Cleaner {
	if pool == nil {
		pool = NewPool()
	}
	c := &Cleaner{fates: make([]fate, len(frames)), ids: make([]int32, len(frames)), runtime: make([]bool, len(frames)), pool: pool}
	for i, f := range frames {
		fa, g := frameFate(f, pkgs)
		c.fates[i], c.ids[i], c.runtime[i] = fa, pool.id(g), heapprof.IsRuntime(g.Func)
	}
	return c
}

// Heap is p as a heap: the tracker's stacks removed and counted in
// TrackerBytes, the others cleaned and root first. Frame indexes out of
// the Cleaner's table are skipped, as FromRaw skips them. p.Frames is not
// read: p's stacks index the Cleaner's frames.
func (c *Cleaner) Heap(p raw.Profile) *Heap {
	h := &Heap{}
	for _, s := range p.Stacks {
		ids := c.scratch[:0]
		leaf := 0 // ids[:leaf] ends with a frame that is not the runtime's
		tracker := false
		for i := len(s.Frames) - 1; i >= 0 && !tracker; i-- { // root first
			idx := s.Frames[i]
			if idx < 0 || idx >= len(c.fates) {
				continue
			}
			switch c.fates[idx] {
			case trackerStack:
				tracker = true
			case keepFrame:
				ids = append(ids, c.ids[idx])
				if !c.runtime[idx] {
					leaf = len(ids)
				}
			}
		}
		c.scratch = ids
		if tracker {
			h.TrackerBytes += s.Bytes
			continue
		}
		if s.Bytes < 0 || s.Objects < 0 {
			// FromProfile refuses such a profile, which New promises
			// not to give it.
			panic("report: the tracker's heap is not a heap profile: negative inuse_space or inuse_objects: is it the difference of two profiles?")
		}
		if s.Bytes == 0 {
			continue
		}
		if leaf > 0 { // runtimeLeaf: the allocator's frames go, unless all are the runtime's
			ids = ids[:leaf]
		}
		h.Stacks = append(h.Stacks, Stack{
			Frames: c.pool.stack(ids), Bytes: s.Bytes, Objects: s.Objects,
			LiveBytes: s.LiveBytes, LiveObjects: s.LiveObjects, Truncated: s.Truncated,
		})
		h.Bytes += s.Bytes
		h.Objects += s.Objects
	}
	h.Raw = p
	h.Raw.Stacks, h.Raw.Frames = nil, nil
	return h
}
