package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/heap"
)

// LeaksFile is the leak report of a run, in gofil watch's leaks.json
// schema.
const LeaksFile = "leaks.json"

// Leaks analyses the tracker's in-use history for allocation sites that
// kept growing. It returns nil when the history is too short to say.
func (r *Run) Leaks(start time.Time) *leak.Result {
	h := r.History
	if h == nil || len(h.Points) < leak.DefaultMinSnapshots {
		return nil
	}
	snaps := make([]leak.Snapshot, 0, len(h.Points))
	for _, pt := range h.Points {
		// One profile per point, so the frames are cleaned as the peak's.
		p := raw.Profile{Frames: h.Frames, Rate: h.Rate}
		for _, v := range pt.Values {
			if v[0] < 0 || int(v[0]) >= len(h.Stacks) {
				continue
			}
			p.Stacks = append(p.Stacks, raw.Stack{Frames: h.Stacks[v[0]], Objects: v[1], Bytes: v[2]})
		}
		cleaned := heap.New(p, r.Packages)
		snap := leak.Snapshot{Time: start.Add(time.Duration(pt.AtNS))}
		for _, st := range cleaned.Stacks {
			snap.Stacks = append(snap.Stacks, leak.Stack{Frames: st.Frames, InuseBytes: st.Bytes, InuseObjects: st.Objects})
		}
		snaps = append(snaps, snap)
	}
	return leak.Analyze(snaps)
}

// WriteLeaks writes the leak analysis of a run as leaks.json.
func WriteLeaks(dir string, res *leak.Result, ended string) error {
	s := res.Summary("")
	s.Ended = ended
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("leaks: %w", err)
	}
	return raw.WriteFile(dir, LeaksFile, append(data, '\n'))
}

// LeaksText writes the leak suspects on w, at most n.
func LeaksText(w io.Writer, res *leak.Result, n int) {
	if len(res.Suspects) == 0 {
		fmt.Fprintf(w, "gofil: no allocation site kept growing over %d GC snapshots (%.1fs)\n", len(res.Times), res.Duration().Seconds())
		return
	}
	fmt.Fprintf(w, "gofil: leak suspects, sites whose in-use memory kept growing over %.1fs:\n", res.Duration().Seconds())
	if len(res.Suspects) < n {
		n = len(res.Suspects)
	}
	for _, s := range res.Suspects[:n] {
		fmt.Fprintf(w, "  %10s  %10s/s  %s\n", units.Bytes(s.GrowthBytes), units.Bytes(int64(s.BytesPerSecond)), SiteText(s.Function, s.File, s.Line))
	}
}
