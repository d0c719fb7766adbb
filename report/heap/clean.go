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

// Every heap gofil shows enters as a pprof profile: the tracker's files
// through FromRaw, runtime/pprof's and net/http/pprof's as they are. Clean
// is the one transform that takes gofil's own part out of it, and
// FromProfile the one view of it as stacks of frames.

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

// cleanFrames applies Clean's frame rules to one stack, root first, and
// says whether it is the tracker's.
func cleanFrames(frames []raw.Frame, pkgs map[string]bool) ([]raw.Frame, bool) {
	out := frames[:0:0]
	for _, f := range frames {
		switch {
		case f.Func == gofil.RunMain:
			continue
		case slices.Contains(gofil.AgentPackages, flamegraph.PackagePath(f.Func)):
			return nil, true
		case pkgs != nil && agentOnly(flamegraph.PackagePath(f.Func), pkgs):
			return nil, true
		case f.Func == "main.main" && strings.HasSuffix(f.File, gofil.InjectedFile):
			continue
		case strings.HasPrefix(f.Func, userMainName):
			// main.gofil_userMain, main.gofil_userMain.func1, ...
			f.Func = "main.main" + f.Func[len(userMainName):]
		case heapprof.Hidden(f.Func):
			continue
		}
		out = append(out, f)
	}
	// The runtime's frames at the leaf, the allocator's (runtime.makeslice,
	// runtime.newobject, ...), go as runtime/pprof hides them, unless the
	// whole stack is the runtime's.
	leaf := len(out)
	for leaf > 0 && heapprof.IsRuntime(out[leaf-1].Func) {
		leaf--
	}
	if leaf > 0 {
		out = out[:leaf]
	}
	return out, false
}
