package leak

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/heapprof"
)

// FromProfile reads a pprof heap profile: one with the sample type
// inuse_space (and usually inuse_objects, alloc_space and alloc_objects,
// as runtime/pprof writes them). It keeps one [Stack] per sample: the
// runtime keeps a record per stack and allocation size, so one stack comes
// as several samples, which the analysis adds together. The profile's
// Period, the program's runtime.MemProfileRate, becomes the snapshot's.
// It returns an error for any other kind of profile.
//
//	p, err := profile.ParseData(body)
//	if err != nil {
//		return err
//	}
//	snap, err := leak.FromProfile(p)
func FromProfile(p *profile.Profile) (Snapshot, error) {
	idx := map[string]int{}
	var types []string
	for i, st := range p.SampleType {
		idx[st.Type] = i
		types = append(types, st.Type+"/"+st.Unit)
	}
	inuse, ok := idx["inuse_space"]
	if !ok {
		if len(types) == 0 {
			return Snapshot{}, fmt.Errorf("not a heap profile: it has no sample types")
		}
		return Snapshot{}, fmt.Errorf("not a heap profile: its sample types are %s, with no inuse_space", strings.Join(types, ", "))
	}
	value := func(s *profile.Sample, typ string) int64 {
		if i, ok := idx[typ]; ok && i < len(s.Value) {
			return s.Value[i]
		}
		return 0
	}
	_, hasAlloc := idx["alloc_space"]
	snap := Snapshot{HasAlloc: hasAlloc, Stacks: make([]Stack, 0, len(p.Sample))}
	// runtime/pprof's heap profiles, and the legacy text ones as parsed,
	// have the period type space/bytes: Period is bytes per sample.
	if pt := p.PeriodType; p.Period > 0 && (pt == nil || pt.Type == "space") {
		snap.Period = p.Period
	}
	if p.TimeNanos != 0 {
		snap.Time = time.Unix(0, p.TimeNanos)
	}
	for _, s := range p.Sample {
		if inuse >= len(s.Value) {
			continue
		}
		frames := heapprof.Frames(s)
		snap.Stacks = append(snap.Stacks, Stack{
			Frames:       frames,
			InuseBytes:   s.Value[inuse],
			InuseObjects: value(s, "inuse_objects"),
			AllocBytes:   value(s, "alloc_space"),
			AllocObjects: value(s, "alloc_objects"),
		})
	}
	return snap, nil
}

// GrowthProfile is a pprof heap profile of the in-use growth from the first
// snapshot to the last: each stack that grew, with the bytes and objects it
// gained, as the sample types inuse_objects/count and inuse_space/bytes.
// Stacks that shrank or stayed level are left out; a stack's objects are
// clamped at 0 when it gained bytes in fewer, larger objects.
//
//	p := res.GrowthProfile()
//	err := p.Write(f) // go tool pprof -http=: growth.pb.gz
func (r *Result) GrowthProfile() *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
		},
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Comments:          []string{"gofil: in-use growth from the first snapshot to the last; stacks that grew only"},
	}
	if n := len(r.Times); n > 0 {
		p.TimeNanos = r.Times[0].UnixNano()
		p.DurationNanos = r.Times[n-1].Sub(r.Times[0]).Nanoseconds()
	}
	b := heapprof.NewBuilder(p, nil)
	for _, st := range r.Stacks {
		if st.GrowthBytes > 0 {
			b.Add(st.Frames, []int64{max(st.GrowthObjects, 0), st.GrowthBytes}, nil)
		}
	}
	return p
}
