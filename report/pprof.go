package report

import (
	"fmt"
	"io"
	"time"

	"github.com/google/pprof/profile"
)

// Profile converts h to a pprof heap profile with the sample types
// inuse_objects/count and inuse_space/bytes, as `go tool pprof` expects of a
// heap profile. start is when the program started; the profile's time is
// the moment of the heap.
func Profile(h *Heap, start time.Time, binary string) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
		},
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            int64(h.Raw.Rate),
		Comments:          []string{fmt.Sprintf("gofil: heap at GC cycle %d (%s)", h.Raw.Cycle, h.Raw.Reason)},
	}
	if !start.IsZero() {
		p.TimeNanos = start.Add(time.Duration(h.Raw.AtNS)).UnixNano()
	}
	m := &profile.Mapping{ID: 1, File: binary, HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
	p.Mapping = []*profile.Mapping{m}
	type fnKey struct{ name, file string }
	funcs := map[fnKey]*profile.Function{}
	locs := map[Frame]*profile.Location{}
	for _, s := range h.Stacks {
		sample := &profile.Sample{Value: []int64{s.Objects, s.Bytes}}
		for i := len(s.Frames) - 1; i >= 0; i-- { // pprof wants the leaf first
			f := s.Frames[i]
			loc := locs[f]
			if loc == nil {
				fn := funcs[fnKey{f.Func, f.File}]
				if fn == nil {
					fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: f.Func, SystemName: f.Func, Filename: f.File}
					funcs[fnKey{f.Func, f.File}] = fn
					p.Function = append(p.Function, fn)
				}
				loc = &profile.Location{ID: uint64(len(p.Location) + 1), Mapping: m, Line: []profile.Line{{Function: fn, Line: int64(f.Line)}}}
				locs[f] = loc
				p.Location = append(p.Location, loc)
			}
			sample.Location = append(sample.Location, loc)
		}
		if s.Truncated {
			sample.Label = map[string][]string{"truncated": {"true"}}
		}
		p.Sample = append(p.Sample, sample)
	}
	return p
}

// WriteProfile writes h as a gzipped pprof profile.
func WriteProfile(w io.Writer, h *Heap, start time.Time, binary string) error {
	p := Profile(h, start, binary)
	if err := p.CheckValid(); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return p.Write(w)
}
