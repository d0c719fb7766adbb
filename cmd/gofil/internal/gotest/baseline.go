package gotest

import (
	"encoding/json"
	"fmt"

	"github.com/gofil/gofil/internal/regfile"
	"github.com/gofil/gofil/internal/units"
)

// Baseline is the baseline file: each test's peak, by package and test.
type Baseline struct {
	Version int             `json:"version"`
	Tests   []BaselineEntry `json:"tests"`
}

// BaselineEntry is one test's peak in a baseline.
type BaselineEntry struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	Peak    uint64 `json:"peak_bytes"`
}

// baselineVersion is the baseline file's layout.
const baselineVersion = 1

// Threshold is how much a test's peak may grow past its baseline: by
// Fraction of it, or by Floor bytes when that is more, so that a test of a
// few hundred KiB, whose peak moves by more than a tenth from one run to
// the next with the runtime's own allocations, does not fail.
type Threshold struct {
	Fraction float64
	Floor    uint64
}

// DefaultThreshold is --max-increase 10% with a floor of 1 MiB.
var DefaultThreshold = Threshold{Fraction: 0.10, Floor: 1 << 20}

// Allowed is the most a peak of base bytes may become.
func (t Threshold) Allowed(base uint64) uint64 {
	grow := uint64(float64(base) * t.Fraction)
	if grow < t.Floor {
		grow = t.Floor
	}
	return base + grow
}

// Growth is a test whose peak grew past what its baseline allows.
type Growth struct {
	Package, Test string
	Base, Now     uint64
}

// Line is the growth's line on stderr: the test, its baseline, its peak
// now and the growth in percent.
func (g Growth) Line() string {
	pct := 100 * (float64(g.Now) - float64(g.Base)) / float64(max(g.Base, 1))
	return fmt.Sprintf("gofil test: %s %s: peak %s, baseline %s: +%.1f%%", g.Package, g.Test, units.Bytes(int64(g.Now)), units.Bytes(int64(g.Base)), pct)
}

// Compare returns the tests of rows whose peak grew past what t allows of
// their baseline, in rows' order. A test the baseline does not hold is new,
// and not compared; a test that failed is said failed already.
func Compare(base Baseline, rows []Row, t Threshold) []Growth {
	peaks := map[[2]string]uint64{}
	for _, e := range base.Tests {
		peaks[[2]string{e.Package, e.Test}] = e.Peak
	}
	var grown []Growth
	for _, r := range rows {
		b, ok := peaks[[2]string{r.Package, r.Test}]
		if !ok || !r.Passed {
			continue
		}
		if r.Peak > t.Allowed(b) {
			grown = append(grown, Growth{Package: r.Package, Test: r.Test, Base: b, Now: r.Peak})
		}
	}
	return grown
}

// maxBaseline bounds the baseline file gofil reads.
const maxBaseline = 64 << 20

// ReadBaseline reads a baseline file.
func ReadBaseline(path string) (Baseline, error) {
	var b Baseline
	data, err := regfile.ReadLimited(path, maxBaseline)
	if err != nil {
		return b, err
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("%s: %w", path, err)
	}
	if b.Version != baselineVersion {
		return b, fmt.Errorf("%s: not a baseline of this gofil (version %d)", path, b.Version)
	}
	return b, nil
}

// WriteBaseline writes rows' peaks to path, atomically and private to the
// user.
func WriteBaseline(path string, rows []Row) error {
	b := Baseline{Version: baselineVersion, Tests: []BaselineEntry{}}
	for _, r := range rows {
		b.Tests = append(b.Tests, BaselineEntry{Package: r.Package, Test: r.Test, Peak: r.Peak})
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(data, '\n'))
}
