// Package report writes gofil's report of a run into its directory: the
// heap at the peak as a pprof profile and collapsed stacks, the page,
// summary.json, leaks.json, and the text gofil prints on stderr. The data
// flows one way through its packages: rundir reads the run directory into
// heaps (heap), summary builds the model from them, view decides what
// every output says, and page and this package render it.
package report

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/regfile"
	"github.com/gofil/gofil/report/rundir"
)

// ManifestFile names the files gofil writes at the top of a report
// directory, one per line: the only ones it replaces there later.
const ManifestFile = ".gofil-report"

// topFiles are the files a report directory may hold at its top.
var topFiles = []string{rundir.HTMLFile, rundir.SummaryFile, rundir.PeakProfile, rundir.PeakFolded, rundir.OOMProfile, rundir.OOMFolded,
	rundir.RSSFile, rundir.LeaksFile, rundir.FlameSVG, rundir.IcicleSVG, rundir.IncompleteFile}

// writeManifest records, before anything else is written into dir, the
// files a report may put there.
func writeManifest(dir string) error {
	return raw.WriteFile(dir, ManifestFile, []byte(strings.Join(topFiles, "\n")+"\n"))
}

// OwnFiles returns the files of dir's manifest that a report may hold: the
// ones gofil wrote there and may replace. ok is false when dir has no
// manifest, or one that is not gofil's.
func OwnFiles(dir string) (files []string, ok bool) {
	data, err := regfile.ReadLimited(filepath.Join(dir, ManifestFile), 4096)
	if err != nil {
		return nil, false
	}
	for _, name := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !slices.Contains(topFiles, name) {
			return nil, false
		}
		files = append(files, name)
	}
	return files, len(files) > 0
}
