package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/dotsvg"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/page"
	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// WriteDir writes the report of a run into dir: the heap at the peak and
// at the last emergency dump (pprof and collapsed stacks), gofil's own RSS
// readings (rss.tsv), leaks.json when leaks is not nil, the page, and last
// summary.json, which lists them all. It returns the summary.
//
//	run, err := report.Load(filepath.Join(dir, report.RawDir))
//	...
//	s, err := report.WriteDir(dir, meta, run, run.Leaks(meta.Started))
func WriteDir(dir string, meta rundir.Meta, run *rundir.Run, leaks *leak.Result) (*summary.Summary, error) {
	if run.Peak != nil {
		// The page's call graph is laid out by the Graphviz helper:
		// started now, its set-up overlaps the files written before the
		// page.
		defer dotsvg.Prestart(context.Background())()
	}
	if err := writeManifest(dir); err != nil {
		return nil, err
	}
	s := summary.Build(meta, run)
	if run.Peak != nil {
		if err := writeHeapFiles(dir, rundir.PeakProfile, rundir.PeakFolded, run.Peak, meta); err != nil {
			return nil, err
		}
		s.Files["profile"] = rundir.PeakProfile
		s.Files["folded"] = rundir.PeakFolded
	}
	if run.OOM != nil {
		if err := writeHeapFiles(dir, rundir.OOMProfile, rundir.OOMFolded, run.OOM, meta); err != nil {
			return nil, err
		}
		s.Files["oom_profile"] = rundir.OOMProfile
		s.Files["oom_folded"] = rundir.OOMFolded
	}
	if leaks != nil {
		if err := WriteLeaks(dir, leaks, s.Ended); err != nil {
			return nil, fmt.Errorf("writing %s: %w", rundir.LeaksFile, err)
		}
		s.Files["leaks"] = rundir.LeaksFile
	}
	return s, finish(dir, meta, s, run)
}

// WriteProfileDir writes the report of a heap profile p, read from path,
// whose heap is h: the profile itself (as peak.pb.gz, so that the page's
// pprof command works), the collapsed stacks, the page, and last
// summary.json. It returns the summary.
func WriteProfileDir(dir, path string, p *profile.Profile, h *heap.Heap) (*summary.Summary, error) {
	if err := writeManifest(dir); err != nil {
		return nil, err
	}
	s := summary.ProfileSummary(path, p, h)
	var pb strings.Builder
	if err := p.Write(&pb); err != nil {
		return nil, fmt.Errorf("%s: %w", rundir.PeakProfile, err)
	}
	if err := raw.WriteFile(dir, rundir.PeakProfile, []byte(pb.String())); err != nil {
		return nil, err
	}
	s.Files["profile"] = rundir.PeakProfile
	var folded strings.Builder
	if err := heap.WriteFolded(&folded, h); err != nil {
		return nil, fmt.Errorf("%s: %w", rundir.PeakFolded, err)
	}
	if err := raw.WriteFile(dir, rundir.PeakFolded, []byte(folded.String())); err != nil {
		return nil, err
	}
	s.Files["folded"] = rundir.PeakFolded
	return s, finish(dir, rundir.Meta{}, s, &rundir.Run{Peak: h})
}

// finish writes what every report has: rss.tsv (when gofil read the
// program's RSS), the page, and summary.json, the last file written, so
// that a directory with it holds a whole report.
func finish(dir string, meta rundir.Meta, s *summary.Summary, run *rundir.Run) error {
	if len(meta.RSS) > 0 {
		if err := rundir.WriteRSS(dir, meta.RSS); err != nil {
			return fmt.Errorf("writing %s: %w", rundir.RSSFile, err)
		}
		s.Files["rss"] = rundir.RSSFile
	}
	s.Files["summary"] = rundir.SummaryFile
	s.Files["html"] = rundir.HTMLFile
	pageErr := page.Write(dir, meta, s, run)
	if pageErr != nil {
		// The figures are still worth having, saying what is missing.
		pageErr = fmt.Errorf("writing the report page: %w", pageErr)
		s.Incomplete = pageErr.Error()
		delete(s.Files, "html")
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := raw.WriteFile(dir, rundir.SummaryFile, append(data, '\n')); err != nil {
		return errors.Join(pageErr, err)
	}
	return pageErr
}

// MarkIncomplete says in dir that its report is not complete, and why, as
// far as the disk still lets it.
func MarkIncomplete(dir string, why error) {
	raw.WriteFile(dir, rundir.IncompleteFile, []byte("This report is not complete: "+why.Error()+"\n"))
}

// writeHeapFiles writes h as a pprof profile and as collapsed stacks.
func writeHeapFiles(dir, profileName, foldedName string, h *heap.Heap, meta rundir.Meta) error {
	var pb bytes.Buffer
	if err := heap.WriteProfile(&pb, h, meta.Started, meta.Binary); err != nil {
		return err
	}
	if err := raw.WriteFile(dir, profileName, pb.Bytes()); err != nil {
		return err
	}
	var folded bytes.Buffer
	if err := heap.WriteFolded(&folded, h); err != nil {
		return err
	}
	return raw.WriteFile(dir, foldedName, folded.Bytes())
}
