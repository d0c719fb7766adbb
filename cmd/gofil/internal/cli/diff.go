package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/gofil/gofil/cmd/gofil/internal/cmdline"
	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/leak"
	"github.com/gofil/gofil/report/heap"
)

const diffUsage = `Usage: gofil diff [-o FILE.svg] BASE.pb.gz NEW.pb.gz

Compares two pprof heap profiles (two of gofil watch's snapshots, two
peak.pb.gz, or any two from /debug/pprof/heap) stack by stack, and draws the
in-use growth from BASE to NEW as a flamegraph: each stack that holds more
in NEW than in BASE, as wide as the bytes it gained. A flamegraph has no
negative widths, so the stacks that shrank are drawn apart, in
FILE-shrink.svg, as wide as the bytes they lost. The allocation sites that
grew most are printed.

Flags:
  -o FILE.svg   the growth flamegraph (default diff.svg); the shrinkage
                goes beside it, in FILE-shrink.svg
`

type diffFlags struct {
	out        string
	base, next string
}

func parseDiffFlags(args []string) (diffFlags, error) {
	f := diffFlags{out: "diff.svg"}
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.out, "o", f.out, "")
	pos, err := cmdline.Interleaved(fs, args)
	if err != nil {
		return f, err
	}
	if len(pos) != 2 {
		return f, fmt.Errorf("want two profiles, BASE and NEW; got %d", len(pos))
	}
	if f.out == "" {
		return f, errors.New("-o needs a file name")
	}
	f.base, f.next = pos[0], pos[1]
	return f, nil
}

// shrinkPath is where the shrinkage flamegraph of the growth flamegraph
// at out goes: diff.svg → diff-shrink.svg.
func shrinkPath(out string) string {
	return strings.TrimSuffix(out, ".svg") + "-shrink.svg"
}

func diffCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDiffFlags(args)
	if err != nil {
		return fail(exitBadInput, "%v (see 'gofil help diff')", err)
	}
	base, err := readHeapProfile(f.base)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	next, err := readHeapProfile(f.next)
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	res := leak.Analyze([]leak.Snapshot{base, next})
	baseName, nextName := filepath.Base(f.base), filepath.Base(f.next)
	graphs := []struct {
		path   string
		opts   flamegraph.Options
		shrunk bool
	}{
		{f.out, flamegraph.Options{ID: "growth", Title: fmt.Sprintf("In-use growth from %s to %s (stacks that grew)", baseName, nextName)}, false},
		{shrinkPath(f.out), flamegraph.Options{ID: "shrink", Title: fmt.Sprintf("In-use shrinkage from %s to %s (stacks that shrank)", baseName, nextName)}, true},
	}
	for _, g := range graphs {
		var buf bytes.Buffer
		if err := flamegraph.Render(&buf, res.GrowthSamples(g.shrunk), g.opts); err != nil {
			return fail(exitReport, "%v", err)
		}
		// Through a file of its own renamed into place: a link planted at
		// the path is replaced, never followed.
		if err := raw.WriteFile(filepath.Dir(g.path), filepath.Base(g.path), buf.Bytes()); err != nil {
			return fail(exitReport, "-o: %v", err)
		}
	}

	var grew, shrank int64
	for _, st := range res.Stacks {
		if st.GrowthBytes > 0 {
			grew += st.GrowthBytes
		} else {
			shrank += st.GrowthBytes
		}
	}
	fmt.Fprintf(stdout, "gofil diff: in use %s -> %s (%s): stacks that grew %s, stacks that shrank %s\n",
		units.Bytes(res.Heap[0]), units.Bytes(res.Heap[1]), units.Signed(res.Heap[1]-res.Heap[0]), units.Signed(grew), units.Signed(shrank))
	shown := 0
	for _, s := range res.Sites {
		if s.GrowthBytes <= 0 || shown == 10 {
			break
		}
		if shown == 0 {
			fmt.Fprintf(stdout, "gofil diff: allocation sites that grew most:\n")
		}
		fmt.Fprintf(stdout, "  %11s  %s\n", units.Signed(s.GrowthBytes), term.Site(s.Function, s.File, s.Line))
		shown++
	}
	if shown == 0 {
		fmt.Fprintf(stdout, "gofil diff: no allocation site grew\n")
	}
	fmt.Fprintf(stdout, "gofil diff: growth: %s; shrinkage: %s\n", graphs[0].path, graphs[1].path)
	return nil
}

// readHeapProfile reads a pprof heap profile from a file.
func readHeapProfile(path string) (leak.Snapshot, error) {
	p, err := heap.ReadProfile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return leak.Snapshot{}, err
	}
	if err != nil {
		return leak.Snapshot{}, fmt.Errorf("%s is not a pprof profile: %w", path, err)
	}
	p, _ = heap.Clean(p, nil)
	s, err := leak.FromProfile(p)
	if err != nil {
		return leak.Snapshot{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
