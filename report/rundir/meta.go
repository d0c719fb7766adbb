package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

// MetaFile, in the raw directory, holds what `gofil run` knew of the
// program from outside (Meta, but for its RSS readings, which are in
// rss.tsv), so that `gofil report DIR` writes the report again from facts,
// not from summary.json's sentences.
const MetaFile = "meta.json"

// metaFile is MetaFile's layout; fields are only ever added.
type metaFile struct {
	Version     int       `json:"version"`
	Command     []string  `json:"command"`
	Target      string    `json:"target"`
	Binary      string    `json:"binary"`
	Started     time.Time `json:"started"`
	DurationNS  int64     `json:"duration_ns"`
	ExitCode    int       `json:"exit_code"`
	Signal      string    `json:"signal,omitempty"`
	MaxRSS      uint64    `json:"wait4_maxrss_bytes"`
	HighWater   uint64    `json:"high_water_bytes"`
	NoSource    bool      `json:"no_source,omitempty"`
	MemoryLimit uint64    `json:"memory_limit_bytes,omitempty"`
	OOMKilled   bool      `json:"oom_killed,omitempty"`
	// TrackerGoneNS is Meta.TrackerGone.
	TrackerGoneNS int64    `json:"tracker_gone_ns,omitempty"`
	Notes         []string `json:"notes"`
}

// WriteMeta records m in the raw directory dir.
func WriteMeta(dir string, m Meta) error {
	f := metaFile{
		Version: 1, Command: nonNil(m.Command), Target: m.Target, Binary: m.Binary, Started: m.Started,
		DurationNS: int64(m.Duration), ExitCode: m.ExitCode, Signal: m.Signal, MaxRSS: m.MaxRSS,
		HighWater: m.HighWater, NoSource: m.NoSource, MemoryLimit: m.MemoryLimit, OOMKilled: m.OOMKilled,
		TrackerGoneNS: int64(m.TrackerGone), Notes: nonNil(m.Notes),
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", MetaFile, err)
	}
	return raw.WriteFile(dir, MetaFile, append(data, '\n'))
}

// ReadMeta reads what WriteMeta recorded in the raw directory dir. ok is
// false when the directory has none (a report from before the file).
func ReadMeta(dir string) (m Meta, ok bool, err error) {
	var f metaFile
	if err := ReadRaw(dir, MetaFile, &f); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Meta{}, false, nil
		}
		return Meta{}, false, err
	}
	m = Meta{
		Command: f.Command, Target: f.Target, Binary: f.Binary, Started: f.Started,
		Duration: time.Duration(f.DurationNS), ExitCode: f.ExitCode, Signal: f.Signal, MaxRSS: f.MaxRSS,
		HighWater: f.HighWater, NoSource: f.NoSource, MemoryLimit: f.MemoryLimit, OOMKilled: f.OOMKilled,
		TrackerGone: time.Duration(f.TrackerGoneNS), Notes: f.Notes,
	}
	return m, true, nil
}

// Meta is what gofil knows of a run from outside the program.
type Meta struct {
	Command  []string
	Target   string
	Binary   string
	Started  time.Time
	Duration time.Duration
	ExitCode int
	Signal   string // "SIGKILL" when a signal ended the program, else ""
	// MaxRSS is wait4's maxrss (which counts gofil's own memory at exec
	// and the program's children); HighWater the program's own VmHWM as
	// gofil last read it.
	MaxRSS    uint64
	HighWater uint64
	// RSS is gofil's own reading of the program's RSS over time.
	RSS []RSSPoint
	// NoSource is set when the program was a prebuilt binary.
	NoSource bool
	// MemoryLimit is the limit gofil ran the program under, if any.
	MemoryLimit uint64
	// OOMKilled says the kernel's out-of-memory killer ended the program.
	OOMKilled bool
	// EndUnknown says how the program ended is not known (a report written
	// again without the run's summary): ExitCode means nothing.
	EndUnknown bool
	// TrackerGone is when, since the program started, the tracker's pipe
	// to gofil closed while the program went on: the program replaced its
	// image by exec, unless the tracker wrote its end after that (the
	// program had closed the pipe). 0 if it did not.
	TrackerGone time.Duration
	// Production says no gofil ran the program: a binary `gofil build`
	// wrote started its tracker itself (raw.Start.Production). What is
	// known of its end is what the tracker recorded.
	Production bool
	Notes      []string
}

// ProductionMeta is what is known of a production run from the tracker's
// files alone: the program, when it started, and, from its exit record if
// it wrote one, how long it ran; else from its last timeline line, and
// its peak RSS from the timeline's readings. A process with no record of
// its end and an emergency dump was killed by the out-of-memory killer.
func ProductionMeta(run *Run) Meta {
	st := run.Start
	m := Meta{
		Command: []string{st.Program}, Target: st.Program, Binary: filepath.Base(st.Program),
		Started: time.Unix(0, st.StartUnix), Production: true,
	}
	for _, p := range run.Timeline {
		m.Duration = p.At
		if p.RSS > m.HighWater {
			m.HighWater = p.RSS
		}
	}
	switch {
	case run.Exit != nil:
		m.Duration = time.Duration(run.Exit.AtNS)
	case run.OOM != nil:
		// No record of its end after an emergency dump: the process
		// was killed by a signal no program can catch, with its memory
		// use past the OOM guard's threshold of its limit. That is how
		// the out-of-memory killer ends a program.
		m.OOMKilled = true
		m.Signal = "SIGKILL"
	default:
		m.EndUnknown = true
	}
	return m
}

// nonNil is s, or an empty list for JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RSSPoint is one reading of the program's RSS from outside.
type RSSPoint struct {
	At  time.Duration
	RSS uint64
}
