// Package heapprof is gofil's one conversion between allocation stacks and
// pprof profiles (github.com/google/pprof/profile), both ways: the frames
// of a profile's sample, and a profile built from stacks of frames. A frame
// is the agent's raw.Frame everywhere on the host.
package heapprof

import (
	"fmt"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/raw"
)

// Frames returns the frames of a pprof sample, root first, inlined calls
// included. A location without line information shows as its address,
// except at the leaf of a stack that has named frames: the text heap
// format names no runtime frame, so those are the allocator's own, not
// where the program allocated.
func Frames(s *profile.Sample) []raw.Frame {
	named := false
	for _, loc := range s.Location {
		if len(loc.Line) > 0 {
			named = true
			break
		}
	}
	var frames []raw.Frame // leaf first, reversed below
	for _, loc := range s.Location {
		if len(loc.Line) == 0 {
			if len(frames) > 0 || !named {
				frames = append(frames, raw.Frame{Func: fmt.Sprintf("0x%x", loc.Address)})
			}
			continue
		}
		// Line[0] is the innermost of the functions inlined at loc.
		for _, ln := range loc.Line {
			f := raw.Frame{Line: int(ln.Line)}
			if ln.Function != nil {
				f.Func, f.File = ln.Function.Name, ln.Function.Filename
			}
			frames = append(frames, f)
		}
	}
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	return frames
}

// Builder makes a pprof profile of stacks, one function per name and file
// and one location per frame.
//
//	b := heapprof.NewBuilder(&profile.Profile{SampleType: types})
//	b.Add(frames, []int64{objects, bytes}, nil)
//	p := b.Profile()
type Builder struct {
	p     *profile.Profile
	m     *profile.Mapping
	funcs map[[2]string]*profile.Function
	locs  map[raw.Frame]*profile.Location
}

// NewBuilder adds samples to p, whose sample types and other fields the
// caller sets. When mapping is not nil, every location belongs to it.
func NewBuilder(p *profile.Profile, mapping *profile.Mapping) *Builder {
	if mapping != nil {
		p.Mapping = append(p.Mapping, mapping)
	}
	return &Builder{p: p, m: mapping, funcs: map[[2]string]*profile.Function{}, locs: map[raw.Frame]*profile.Location{}}
}

// Add adds a sample of frames, root first, with its values and labels.
func (b *Builder) Add(frames []raw.Frame, values []int64, labels map[string][]string) {
	s := &profile.Sample{Value: values, Label: labels}
	for i := len(frames) - 1; i >= 0; i-- { // pprof wants the leaf first
		f := frames[i]
		loc := b.locs[f]
		if loc == nil {
			k := [2]string{f.Func, f.File}
			fn := b.funcs[k]
			if fn == nil {
				fn = &profile.Function{ID: uint64(len(b.p.Function) + 1), Name: f.Func, SystemName: f.Func, Filename: f.File}
				b.funcs[k] = fn
				b.p.Function = append(b.p.Function, fn)
			}
			loc = &profile.Location{ID: uint64(len(b.p.Location) + 1), Mapping: b.m, Line: []profile.Line{{Function: fn, Line: int64(f.Line)}}}
			b.locs[f] = loc
			b.p.Location = append(b.p.Location, loc)
		}
		s.Location = append(s.Location, loc)
	}
	b.p.Sample = append(b.p.Sample, s)
}

// Profile returns the profile built.
func (b *Builder) Profile() *profile.Profile { return b.p }

// IsRuntime reports whether fn is the runtime's (or the standard library's
// internal packages'), rather than the code that asked for memory.
func IsRuntime(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/")
}

// Hidden reports frames that say nothing about who allocated: the
// allocator's own internals and the goroutine entry trampoline. Frames such
// as runtime.makeslice or runtime.growslice stay: they say what was made.
func Hidden(fn string) bool {
	return fn == "runtime.goexit" || strings.HasPrefix(fn, "runtime.mallocgc")
}

// Site is the index in frames (root first) of the allocation site: the
// innermost frame that is not the runtime's; when all are (the runtime's
// own memory), the innermost that is not one of the allocator's entry
// points, which say what was made but not who made it. −1 for no frames.
func Site(frames []raw.Frame) int {
	for i := len(frames) - 1; i >= 0; i-- {
		if !IsRuntime(frames[i].Func) {
			return i
		}
	}
	for i := len(frames) - 1; i >= 0; i-- {
		if !allocator(frames[i].Func) {
			return i
		}
	}
	return len(frames) - 1
}

// allocator reports the runtime functions through which all of a program's
// allocations go.
func allocator(fn string) bool {
	switch fn {
	case "runtime.newobject", "runtime.makeslice", "runtime.growslice", "runtime.newarray",
		"runtime.makemap", "runtime.makemap_small", "runtime.makechan", "runtime.makeslicecopy",
		"runtime.rawstring", "runtime.rawbyteslice", "runtime.rawruneslice", "runtime.malg":
		return true
	}
	return strings.HasPrefix(fn, "runtime.mallocgc") || strings.HasPrefix(fn, "runtime.convT")
}
