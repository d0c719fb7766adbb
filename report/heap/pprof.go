package heap

import (
	"fmt"
	"io"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/heapprof"
)

// Profile converts h to a pprof heap profile with the sample types
// inuse_objects/count and inuse_space/bytes, as `go tool pprof` expects of a
// heap profile, then live_space and garbage_space/bytes: what the GC at the
// mark found reachable of inuse_space, and the rest (-sample_index=live_space). start is when the program started; the profile's time is
// the moment of the heap.
func Profile(h *Heap, start time.Time, binary string) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
			{Type: "live_space", Unit: "bytes"},
			{Type: "garbage_space", Unit: "bytes"},
		},
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            int64(h.Raw.Rate),
		Comments:          []string{fmt.Sprintf("gofil: heap at GC cycle %d (%s)", h.Raw.Cycle, h.Raw.Reason)},
	}
	if !start.IsZero() {
		p.TimeNanos = start.Add(time.Duration(h.Raw.AtNS)).UnixNano()
	}
	b := heapprof.NewBuilder(p, &profile.Mapping{ID: 1, File: binary, HasFunctions: true, HasFilenames: true, HasLineNumbers: true})
	for _, st := range h.Stacks {
		var labels map[string][]string
		if st.Truncated {
			labels = map[string][]string{"truncated": {"true"}}
		}
		b.Add(st.Frames, []int64{st.Objects, st.Bytes, st.Live(), st.Garbage()}, labels)
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
