package flamegraph

import (
	"cmp"
	"slices"
	"strings"
)

type nodeKind uint8

const (
	kindFrame nodeKind = iota
	kindRoot
	kindOther
)

// node is one frame of the merged call tree, already pruned for drawing.
type node struct {
	frame    Frame
	kind     nodeKind
	total    int64 // bytes held by the samples passing through this node
	objects  int64
	live     int64 // of total, still reachable
	merged   int   // for kindOther: how many sibling frames it stands for
	children []*node
}

// tree is the pruned call tree and what the layout needs to know about it.
type tree struct {
	root  *node
	depth int // number of rows, the root's included
}

// buildTree merges the stacks of samples into a call tree. A child whose
// width, at framesWidth pixels for all bytes, would be below minWidth is
// folded into one "other" child of its parent.
//
// Inserting every frame of every stack into a tree would allocate millions
// of nodes for a large profile, almost all of them too narrow to draw.
// Instead, the builder works on a permutation of the samples: for each
// drawn node it groups the node's samples by their next frame with one
// pass over them, and descends only into groups wide enough to be drawn,
// after moving each of those into a contiguous stretch. The work is
// proportional to the number of samples times the depth of the drawn
// tree, not of the stacks.
func buildTree(samples []Sample, framesWidth, minWidth float64) tree {
	return buildStacksTree(numberFrames(samples), framesWidth, minWidth)
}

// buildStacksTree is buildTree of st, whose frame indexes are all within
// st.Frames.
func buildStacksTree(st *Stacks, framesWidth, minWidth float64) tree {
	samples := st.Samples
	b := &builder{
		samples: samples,
		frames:  st.Frames,
		key:     make([]int32, len(st.Frames)),
		order:   make([]int, len(samples)),
		scratch: make([]int, len(samples)),
		group:   make([]int, len(samples)),
	}
	// Frames that differ only in Source are one node: they share a key.
	keys := map[frameKey]int32{}
	for i, f := range st.Frames {
		k := frameKey{f.Func, f.File, f.Line}
		id, ok := keys[k]
		if !ok {
			id = int32(len(keys))
			keys[k] = id
		}
		b.key[i] = id
	}
	b.slot = make([]int, len(keys))
	for i := range b.slot {
		b.slot[i] = -1
	}
	root := &node{kind: kindRoot, frame: Frame{Func: "all"}}
	for i, s := range samples {
		b.order[i] = i
		root.total += s.Bytes
		root.objects += s.Objects
		root.live += s.live()
	}
	if root.total > 0 {
		b.minBytes = minWidth / framesWidth * float64(root.total)
	}
	b.depth = 1
	if root.total > 0 {
		root.children = b.children(0, len(samples), 0)
	}
	return tree{root: root, depth: b.depth}
}

type builder struct {
	samples []StackSample
	frames  []Frame
	key     []int32 // of each frame, the same for frames equal but for Source
	order   []int   // a permutation of sample indices; every subtree is a stretch of it
	scratch []int   // room to rearrange a stretch of order
	group   []int   // run of the sample at each position of order, while grouping
	runs    []run   // a stack: each children call pushes its runs and pops them
	// slot is, for each key, its run among those groupRuns is pushing,
	// relative to the first; −1 outside groupRuns.
	slot     []int
	minBytes float64
	depth    int
}

// frameKey identifies a node among its siblings.
type frameKey struct {
	fn, file string
	line     int
}

// run is the samples that share their frame at one depth below a node,
// and what they hold. Once placed, they are order[lo:hi].
type run struct {
	frame          Frame
	key            int32
	count          int
	bytes, objects int64
	live           int64
	lo, hi         int
	keep           bool // drawn under its own name
}

// children returns the drawable children, in order, of the node whose
// samples are order[lo:hi], all sharing their first depth frames.
func (b *builder) children(lo, hi, depth int) []*node {
	mark := len(b.runs)
	b.groupRuns(lo, hi, depth)
	runs := b.runs[mark:]

	other := node{kind: kindOther, frame: Frame{Func: "other"}}
	lone := -1
	var keep []int
	for i := range runs {
		r := &runs[i]
		switch {
		case r.bytes == 0:
			// Nothing to draw, and no bytes to account for.
		case float64(r.bytes) < b.minBytes:
			other.merged++
			other.total += r.bytes
			other.objects += r.objects
			other.live += r.live
			lone = i
		default:
			r.keep = true
			keep = append(keep, i)
		}
	}
	if other.merged == 1 {
		// Merging a single frame would hide its name and save nothing.
		runs[lone].keep = true
		keep = append(keep, lone)
	}
	kids := make([]*node, 0, len(keep)+1)
	if len(keep) > 0 {
		b.place(runs, keep, lo, hi)
		for _, i := range keep {
			r := runs[i]
			kids = append(kids, &node{
				frame:    r.frame,
				total:    r.bytes,
				objects:  r.objects,
				live:     r.live,
				children: b.children(r.lo, r.hi, depth+1),
			})
		}
	}
	if other.merged > 1 {
		kids = append(kids, &other)
	}
	b.runs = b.runs[:mark]
	if len(kids) > 0 && depth+2 > b.depth {
		b.depth = depth + 2
	}
	return kids
}

// groupRuns pushes onto b.runs one run per distinct frame at depth among
// the samples order[lo:hi], and records in b.group which run each sample
// belongs to, relative to the first pushed, or -1 if its stack ends above
// depth. Of the differing Source texts a frame may carry, a run keeps the
// smallest non-empty one, so that the result does not depend on the order
// of the samples.
func (b *builder) groupRuns(lo, hi, depth int) {
	mark := len(b.runs)
	for pos := lo; pos < hi; pos++ {
		s := &b.samples[b.order[pos]]
		if len(s.Stack) == depth {
			b.group[pos] = -1
			continue
		}
		f := &b.frames[s.Stack[depth]]
		k := b.key[s.Stack[depth]]
		g := b.slot[k]
		if g < 0 {
			g = len(b.runs) - mark
			b.slot[k] = g
			b.runs = append(b.runs, run{frame: Frame{Func: f.Func, File: f.File, Line: f.Line}, key: k})
		}
		b.group[pos] = g
		r := &b.runs[mark+g]
		r.count++
		r.bytes += s.Bytes
		r.objects += s.Objects
		r.live += s.live()
		if f.Source != "" && (r.frame.Source == "" || f.Source < r.frame.Source) {
			r.frame.Source = f.Source
		}
	}
	for _, r := range b.runs[mark:] {
		b.slot[r.key] = -1
	}
}

// place sorts keep, the indices of the runs to descend into, by frame, and
// moves their samples within order[lo:hi] so that each run is contiguous,
// in that order. The samples of the other runs are not needed again.
func (b *builder) place(runs []run, keep []int, lo, hi int) {
	slices.SortFunc(keep, func(x, y int) int { return compareFrames(runs[x].frame, runs[y].frame) })
	next := lo
	for _, i := range keep {
		runs[i].lo, runs[i].hi = next, next // hi advances as samples arrive
		next += runs[i].count
	}
	for pos := lo; pos < hi; pos++ {
		if g := b.group[pos]; g >= 0 && runs[g].keep {
			b.scratch[runs[g].hi] = b.order[pos]
			runs[g].hi++
		}
	}
	copy(b.order[lo:next], b.scratch[lo:next])
}

// compareFrames orders frames by function name, then file, then line; this
// is also the left-to-right order of siblings in the graph.
func compareFrames(a, b Frame) int {
	// Names in a profile usually share their backing arrays, which makes
	// the equality tests cheap; ordering is needed only where they differ.
	if a.Func != b.Func {
		return strings.Compare(a.Func, b.Func)
	}
	if a.File != b.File {
		return strings.Compare(a.File, b.File)
	}
	return cmp.Compare(a.Line, b.Line)
}

// live is s.Live kept within s.Bytes.
func (s StackSample) live() int64 { return min(max(s.Live, 0), s.Bytes) }
