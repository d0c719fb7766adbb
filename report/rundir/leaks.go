package rundir

import (
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/heap"
)

// Leaks analyses the tracker's in-use history for allocation sites that
// kept growing. It returns nil when the history is too short to say.
func (r *Run) Leaks(start time.Time) *leak.Result {
	h := r.History
	if h == nil || len(h.Points) < leak.DefaultMinSnapshots {
		return nil
	}
	snaps := make([]leak.Snapshot, 0, len(h.Points))
	clean := heap.NewCleaner(h.Frames, r.Packages, r.pool)
	for _, pt := range h.Points {
		// One profile per point, so the frames are cleaned as the peak's.
		p := raw.Profile{Frames: h.Frames, Rate: h.Rate}
		for _, v := range pt.Values {
			if v[0] < 0 || int(v[0]) >= len(h.Stacks) {
				continue
			}
			p.Stacks = append(p.Stacks, raw.Stack{Frames: h.Stacks[v[0]], Objects: v[1], Bytes: v[2]})
		}
		cleaned := clean.Heap(p)
		snap := leak.Snapshot{Time: start.Add(time.Duration(pt.AtNS))}
		for _, st := range cleaned.Stacks {
			snap.Stacks = append(snap.Stacks, leak.Stack{Frames: st.Frames, InuseBytes: st.Bytes, InuseObjects: st.Objects})
		}
		snaps = append(snaps, snap)
	}
	return leak.Analyze(snaps)
}
