package flamegraph

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Frame is one stack frame.
type Frame struct {
	// Func is the fully qualified Go function, e.g. "main.loadRows" or
	// "encoding/json.(*decodeState).object".
	Func string
	// File is the source file, as an absolute or module-relative path.
	File string
	// Line is the line number in File, or 0 if unknown.
	Line int
	// Source is the text of the source line if known, else "".
	Source string
}

// Sample is one allocation stack and the memory it holds.
type Sample struct {
	// Stack lists the frames root first (outermost caller first), leaf last.
	Stack []Frame
	// Bytes is the memory held by allocations made at this stack. It must
	// not be negative.
	Bytes int64
	// Objects is the number of objects behind Bytes, or 0 if unknown.
	Objects int64
	// Live is the part of Bytes still reachable, the rest being garbage
	// awaiting collection; boxes then show the garbage part paler. 0 in
	// every sample draws no split.
	Live int64
}

// Stacks is samples whose frames are numbered: each stack lists indexes
// into Frames. A large profile takes a fraction of the memory of its
// []Sample this way (4 bytes for each frame of a stack, not a Frame's
// 56), and [RenderStacks] draws it as [Render] draws samples.
//
//	st := &flamegraph.Stacks{Frames: []flamegraph.Frame{{Func: "main.main"}, {Func: "main.load"}}}
//	st.Samples = append(st.Samples, flamegraph.StackSample{Stack: []int32{0, 1}, Bytes: 1 << 20})
//	err := flamegraph.RenderStacks(w, st, flamegraph.Options{})
type Stacks struct {
	// Frames are the frames the stacks refer to. Frames equal in Func,
	// File and Line are one node of the graph, as in Render.
	Frames  []Frame
	Samples []StackSample
}

// StackSample is a [Sample] whose stack holds indexes into Stacks.Frames,
// root first.
type StackSample struct {
	Stack                []int32
	Bytes, Objects, Live int64
}

// Orientation says where the root of the graph is drawn.
type Orientation int

const (
	// Flame draws the root at the bottom, callees above their callers.
	Flame Orientation = iota
	// Icicle draws the root at the top, callees below their callers.
	Icicle
)

// Options configures [Render]. The zero value is valid and yields a
// 1200-pixel-wide flame graph with the ID "fg".
type Options struct {
	// Title is drawn centred at the top. Default: "Flame Graph" for
	// [Flame] and "Icicle Graph" for [Icicle].
	Title string
	// Orientation places the root at the bottom ([Flame], the default) or
	// at the top ([Icicle]).
	Orientation Orientation
	// Width is the width of the SVG in pixels. Default: 1200.
	Width int
	// MinWidth is the width in pixels under which sibling frames are
	// merged into one "other" frame per parent. Bytes are preserved
	// exactly. Default (0): 0.5. A negative value disables merging.
	MinWidth float64
	// Unit names what Sample.Bytes counts. Default: "bytes", shown as B,
	// KiB, MiB, GiB and so on. Any other unit is shown as a plain number
	// followed by the unit.
	Unit string
	// IsUserCode reports whether a frame belongs to the user's code, which
	// is drawn in warm colours. Frames it rejects are drawn in the
	// runtime palette if their Func starts with "runtime." or "internal/",
	// and in the library palette otherwise. Default: [DefaultIsUserCode].
	IsUserCode func(Frame) bool
	// ID is the id attribute of the <svg> element and the prefix of the
	// functions the script puts on window. Give each graph on one HTML
	// page its own ID. It must start with an ASCII letter and contain only
	// ASCII letters, digits, '_' and '-'. Default: "fg".
	ID string
	// RestLabel names the part of a box that is not live, when samples
	// say what is. Default: "garbage awaiting collection".
	RestLabel string
}

// Defaults applied by [Render] to zero-valued [Options] fields.
const (
	DefaultWidth    = 1200
	DefaultMinWidth = 0.5
	DefaultUnit     = "bytes"
	DefaultID       = "fg"
)

// Render writes samples as a complete standalone SVG document to w.
//
// Usage:
//
//	f, err := os.Create("peak-memory.svg")
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	err = flamegraph.Render(f, samples, flamegraph.Options{
//		Title: "Peak tracked memory usage",
//	})
//	if err != nil {
//		return err
//	}
//	return f.Close()
//
// To put a flame graph and an icicle graph into the same HTML page, give
// them different IDs:
//
//	flamegraph.Render(&page, samples, flamegraph.Options{ID: "peak"})
//	flamegraph.Render(&page, samples, flamegraph.Options{ID: "peakrev", Orientation: flamegraph.Icicle})
//
// Render returns an error if an option is invalid, if a sample has a
// negative Bytes or Objects, or if writing to w fails.
func Render(w io.Writer, samples []Sample, opts Options) error {
	return RenderStacks(w, numberFrames(samples), opts)
}

// RenderStacks writes st as Render writes samples. It returns an error as
// Render does, and if a stack holds an index out of st.Frames.
func RenderStacks(w io.Writer, st *Stacks, opts Options) error {
	cfg, err := opts.resolve()
	if err != nil {
		return fmt.Errorf("render flamegraph: %w", err)
	}
	for i, s := range st.Samples {
		if s.Bytes < 0 || s.Objects < 0 {
			return fmt.Errorf("render flamegraph: sample %d: negative bytes (%d) or objects (%d)", i, s.Bytes, s.Objects)
		}
		for _, f := range s.Stack {
			if f < 0 || int(f) >= len(st.Frames) {
				return fmt.Errorf("render flamegraph: sample %d: frame %d of %d", i, f, len(st.Frames))
			}
		}
	}
	t := buildStacksTree(st, cfg.framesWidth(), cfg.minWidth)
	bw := bufio.NewWriterSize(w, 64<<10)
	err = writeSVG(bw, t, cfg)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("render flamegraph: write: %w", err)
	}
	return nil
}

// numberFrames gives samples as Stacks, one number for each distinct
// frame.
func numberFrames(samples []Sample) *Stacks {
	st := &Stacks{Samples: make([]StackSample, len(samples))}
	ids := map[Frame]int32{}
	n := 0
	for _, s := range samples {
		n += len(s.Stack)
	}
	all := make([]int32, n)
	for i, s := range samples {
		stack := all[:len(s.Stack):len(s.Stack)]
		all = all[len(s.Stack):]
		for j, f := range s.Stack {
			id, ok := ids[f]
			if !ok {
				id = int32(len(st.Frames))
				ids[f] = id
				st.Frames = append(st.Frames, f)
			}
			stack[j] = id
		}
		st.Samples[i] = StackSample{Stack: stack, Bytes: s.Bytes, Objects: s.Objects, Live: s.Live}
	}
	return st
}

// config is Options with defaults applied and values checked.
type config struct {
	Options
	minWidth float64
}

func (o Options) resolve() (config, error) {
	c := config{Options: o}
	switch c.Orientation {
	case Flame:
		if c.Title == "" {
			c.Title = "Flame Graph"
		}
	case Icicle:
		if c.Title == "" {
			c.Title = "Icicle Graph"
		}
	default:
		return config{}, fmt.Errorf("unknown orientation %d", c.Orientation)
	}
	if c.Width == 0 {
		c.Width = DefaultWidth
	}
	if c.Width <= 2*xPad+minFramesWidth {
		return config{}, fmt.Errorf("width %d too small: need more than %d", c.Width, 2*xPad+minFramesWidth)
	}
	switch {
	case c.MinWidth == 0:
		c.minWidth = DefaultMinWidth
	case c.MinWidth < 0:
		c.minWidth = 0
	default:
		c.minWidth = c.MinWidth
	}
	if c.Unit == "" {
		c.Unit = DefaultUnit
	}
	if c.RestLabel == "" {
		c.RestLabel = "garbage awaiting collection"
	}
	if c.IsUserCode == nil {
		c.IsUserCode = DefaultIsUserCode
	}
	if c.ID == "" {
		c.ID = DefaultID
	}
	if err := checkID(c.ID); err != nil {
		return config{}, err
	}
	return c, nil
}

func checkID(id string) error {
	for i := 0; i < len(id); i++ {
		c := id[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if i == 0 && !letter {
			return errors.New("id must start with an ASCII letter")
		}
		if !letter && !('0' <= c && c <= '9') && c != '_' && c != '-' {
			return fmt.Errorf("id %q: only ASCII letters, digits, '_' and '-' are allowed", id)
		}
	}
	return nil
}
