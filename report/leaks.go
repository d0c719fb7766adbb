package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/rundir"
)

// WriteLeaks writes the leak analysis of a run as leaks.json.
func WriteLeaks(dir string, res *leak.Result, ended string) error {
	s := res.Summary("")
	s.Ended = ended
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("leaks: %w", err)
	}
	return raw.WriteFile(dir, rundir.LeaksFile, append(data, '\n'))
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
		fmt.Fprintf(w, "  %10s  %10s/s  %s\n", units.Bytes(s.GrowthBytes), units.Bytes(int64(s.BytesPerSecond)), term.Site(s.Function, s.File, s.Line))
	}
}
