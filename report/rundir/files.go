package rundir

import "github.com/gofil/gofil/internal/raw"

// Files of a run directory: the tracker's, in RawDir, and the report's, at
// its top, beside meta.json's facts (MetaFile, in RawDir) and gofil's own
// RSS readings (RSSFile).
const (
	RawDir      = raw.SubDir
	PeakProfile = "peak.pb.gz"
	PeakFolded  = "peak.folded"
	OOMProfile  = "oom.pb.gz"
	OOMFolded   = "oom.folded"
	SummaryFile = "summary.json"
	FlameSVG    = "peak.svg"
	IcicleSVG   = "peak-reversed.svg"
	// HTMLFile is the interactive report page.
	HTMLFile = "index.html"
	// LeaksFile is the leak report of a run, in gofil watch's leaks.json
	// schema.
	LeaksFile = "leaks.json"
	// IncompleteFile is written into a report directory when the report
	// could not be finished, saying why in its first line.
	IncompleteFile = "INCOMPLETE"
)
