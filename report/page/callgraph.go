package page

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gofil/gofil/internal/dotsvg"
	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/heap"

	"github.com/gofil/gofil/flamegraph"
)

// Limits of the call graph: the graph keeps the functions holding the most
// memory and the functions and calls that carry a visible share of it, so
// that it stays readable and fast to lay out however large the profile.
const (
	callGraphMaxNodes = 80
	callGraphMinEdge  = 0.005 // of the heap's total
)

// callGraph is the heap drawn as functions and calls.
type callGraph struct {
	total int64
	nodes []cgNode
	edges []cgEdge
	// What the limits left out.
	droppedNodes     int
	droppedNodeBytes int64 // the largest inclusive bytes of a dropped function
	droppedEdges     int
	// minEdge is the smallest node or edge kept, in bytes.
	minEdge int64
}

type cgNode struct {
	fn        string
	inclusive int64 // the function and its callees, recursion counted once
	self      int64 // allocated in the function itself
}

type cgEdge struct {
	from, to int // indexes into nodes
	bytes    int64
	// indirect is set when every stack behind the edge passes through
	// functions the graph does not show.
	indirect bool
}

// buildCallGraph makes the call graph of h: nodes are functions with their
// inclusive bytes, edges caller→callee with the bytes held below the call.
// Only the callGraphMaxNodes largest functions are kept, and of those only
// the ones holding callGraphMinEdge of the total or more; a call through
// functions left out becomes an indirect edge between the kept ones, and
// edges under callGraphMinEdge of the total are dropped.
func buildCallGraph(h *heap.Heap) *callGraph {
	g := &callGraph{total: h.Bytes}
	all, stackIDs := callGraphFunctions(h)
	kept := g.keepNodes(all)
	g.addEdges(h, stackIDs, kept)
	return g
}

// callGraphFunctions numbers the functions of h's stacks, each stack down
// to its allocation site, and counts each function's inclusive bytes, once
// per stack, and its own. It returns the functions and, per stack, the
// numbers of its frames' functions.
func callGraphFunctions(h *heap.Heap) (all []cgNode, stackIDs [][]int) {
	// lastStack marks the stack a function was last counted for, which is
	// cheaper than a set per stack.
	ids := map[string]int{}
	var lastStack []int
	stackIDs = make([][]int, len(h.Stacks))
	for si, s := range h.Stacks {
		if s.Bytes <= 0 || len(s.Frames) == 0 {
			continue
		}
		// The graph ends at the allocation site: the runtime's allocation
		// entry points (makeslice, newobject, ...) below it would gather
		// every path into one node and hide which code allocated.
		frames := s.Frames[:s.Site()+1]
		sids := make([]int, len(frames))
		for i, f := range frames {
			id, ok := ids[f.Func]
			if !ok {
				id = len(all)
				ids[f.Func] = id
				all = append(all, cgNode{fn: f.Func})
				lastStack = append(lastStack, -1)
			}
			sids[i] = id
			if lastStack[id] != si {
				lastStack[id] = si
				all[id].inclusive += s.Bytes
			}
		}
		all[sids[len(sids)-1]].self += s.Bytes
		stackIDs[si] = sids
	}
	return all, stackIDs
}

// keepNodes keeps of all the callGraphMaxNodes functions holding the most,
// of those only the ones holding callGraphMinEdge of the total or more,
// and counts the rest. It returns, per function, its node's index or -1.
func (g *callGraph) keepNodes(all []cgNode) []int {
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := all[order[i]], all[order[j]]
		if a.inclusive != b.inclusive {
			return a.inclusive > b.inclusive
		}
		return a.fn < b.fn
	})
	kept := make([]int, len(all)) // function id to node index, or -1
	for i := range kept {
		kept[i] = -1
	}
	g.minEdge = int64(math.Ceil(callGraphMinEdge * float64(g.total)))
	for _, id := range order {
		if len(g.nodes) == callGraphMaxNodes || all[id].inclusive < g.minEdge {
			g.droppedNodes++
			g.droppedNodeBytes = max(g.droppedNodeBytes, all[id].inclusive)
			continue
		}
		kept[id] = len(g.nodes)
		g.nodes = append(g.nodes, all[id])
	}
	return kept
}

// addEdges adds the calls between kept functions, each with the bytes held
// below it, counted once per stack; a call through functions left out is
// indirect, and calls under callGraphMinEdge of the total are dropped.
func (g *callGraph) addEdges(h *heap.Heap, stackIDs [][]int, kept []int) {
	type key struct{ from, to int }
	type acc struct{ bytes, direct int64 }
	edges := map[key]*acc{}
	var seen []key // the edges of one stack, to count each once
	for si, s := range h.Stacks {
		seen = seen[:0]
		prev, skipped := -1, false
		for _, id := range stackIDs[si] {
			i := kept[id]
			if i < 0 {
				skipped = true
				continue
			}
			if k := (key{prev, i}); prev >= 0 && prev != i && !slices.Contains(seen, k) {
				seen = append(seen, k)
				a := edges[k]
				if a == nil {
					a = &acc{}
					edges[k] = a
				}
				a.bytes += s.Bytes
				if !skipped {
					a.direct += s.Bytes
				}
			}
			prev, skipped = i, false
		}
	}
	for k, a := range edges {
		if a.bytes < g.minEdge {
			g.droppedEdges++
			continue
		}
		g.edges = append(g.edges, cgEdge{from: k.from, to: k.to, bytes: a.bytes, indirect: a.direct == 0})
	}
	sort.Slice(g.edges, func(i, j int) bool {
		a, b := g.edges[i], g.edges[j]
		if a.bytes != b.bytes {
			return a.bytes > b.bytes
		}
		if a.from != b.from {
			return a.from < b.from
		}
		return a.to < b.to
	})
}

// dot writes g in Graphviz's DOT language. Every name is escaped for a
// DOT string and for the entities Graphviz expands in labels.
func (g *callGraph) dot() []byte {
	var b bytes.Buffer
	b.WriteString("digraph callgraph {\n")
	b.WriteString("graph [rankdir=TB, nodesep=0.25, ranksep=0.45, fontname=\"Helvetica\", bgcolor=\"transparent\"];\n")
	b.WriteString("node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", color=\"#8a7f76\", margin=\"0.12,0.06\"];\n")
	b.WriteString("edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];\n")
	for i, n := range g.nodes {
		frac := fraction(n.inclusive, g.total)
		selfFrac := fraction(n.self, g.total)
		// The shortest name that says which function; the tooltip has
		// the full one.
		label := dotEscape(flamegraph.ShortName(n.fn)) + `\n` + dotEscape(fmt.Sprintf("%s (%.1f%%)", units.Bytes(n.inclusive), 100*frac))
		if n.self > 0 {
			label += `\n` + dotEscape(fmt.Sprintf("self %s (%.1f%%)", units.Bytes(n.self), 100*selfFrac))
		}
		tooltip := dotTooltip(fmt.Sprintf("%s: %s with its callees, %s itself", n.fn, units.Bytes(n.inclusive), units.Bytes(n.self)))
		fmt.Fprintf(&b, "n%d [label=\"%s\", tooltip=\"%s\", fillcolor=\"%s\", fontsize=%.1f];\n",
			i, label, tooltip, heatColour(frac), 9+9*math.Sqrt(selfFrac))
	}
	for _, e := range g.edges {
		frac := fraction(e.bytes, g.total)
		style := "solid"
		if e.indirect {
			style = "dashed"
		}
		tooltip := dotTooltip(fmt.Sprintf("%s → %s: %s", g.nodes[e.from].fn, g.nodes[e.to].fn, units.Bytes(e.bytes)))
		fmt.Fprintf(&b, "n%d -> n%d [label=\" %s\", tooltip=\"%s\", penwidth=%.2f, weight=%d, style=%s, color=\"%s\"];\n",
			e.from, e.to, dotEscape(units.Bytes(e.bytes)), tooltip, 1+5*frac, 1+int(100*frac), style, edgeColour(frac))
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func fraction(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// dotEscape escapes s for a double-quoted DOT string used as a label:
// backslashes and quotes for DOT, '&' because Graphviz expands entities in
// labels, control characters (which DOT strings cannot carry as such)
// become spaces, and invalid UTF-8 is replaced.
func dotEscape(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '&':
			b.WriteString("&amp;")
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// dotTooltip escapes s for a tooltip attribute, which Graphviz expands
// twice (\N, \G, ... would name the node and graph): its backslashes are
// escaped once more.
func dotTooltip(s string) string {
	return strings.ReplaceAll(dotEscape(s), `\\`, `\\\\`)
}

// heatColour shades a node from near white to a warm orange by the share
// of the heap it holds.
func heatColour(frac float64) string {
	t := math.Sqrt(math.Max(0, math.Min(1, frac)))
	r := 255 - t*(255-236)
	g := 250 - t*(250-112)
	b := 240 - t*(240-58)
	return fmt.Sprintf("#%02x%02x%02x", int(r), int(g), int(b))
}

func edgeColour(frac float64) string {
	t := math.Sqrt(math.Max(0, math.Min(1, frac)))
	v := int(170 - 130*t)
	return fmt.Sprintf("#%02x%02x%02x", v+20, v, v-10)
}

// svgOf lays dot out with Graphviz, in gofil's helper process
// (internal/dotsvg), and returns the SVG element without the XML
// declaration and DOCTYPE Graphviz puts before it, ready to inline in HTML.
func svgOf(ctx context.Context, dot []byte) (string, error) {
	out, err := dotsvg.Render(ctx, dot)
	if err != nil {
		return "", err
	}
	svg := string(out)
	i := strings.Index(svg, "<svg")
	if i < 0 {
		return "", fmt.Errorf("graphviz: no <svg> in its output")
	}
	svg = svg[i:]
	if err := checkSVG(svg); err != nil {
		return "", err
	}
	return svg, nil
}

// svgElements are the elements Graphviz's SVG renderer writes.
var svgElements = map[string]bool{
	"svg": true, "g": true, "title": true, "a": true, "path": true, "polygon": true, "polyline": true,
	"ellipse": true, "text": true, "defs": true, "linearGradient": true, "radialGradient": true, "stop": true,
}

// checkSVG is a second line of defence for a page that must never run what
// a profile names: Graphviz escapes the names it writes, and gofil gives it
// no URL, so svg holds only the elements of a drawing and no attribute that
// runs a script (on...) or follows a link (href). A name is text, whatever
// it says ("javascript:..." included), and is left as Graphviz escaped it.
func checkSVG(svg string) error {
	d := xml.NewDecoder(strings.NewReader(svg))
	d.Entity = xml.HTMLEntity
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("graphviz: its output is not well-formed: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if !svgElements[tok.Name.Local] {
				return fmt.Errorf("graphviz: its output holds a <%s> element", tok.Name.Local)
			}
			for _, a := range tok.Attr {
				if name := strings.ToLower(a.Name.Local); name == "href" || strings.HasPrefix(name, "on") {
					return fmt.Errorf("graphviz: its output holds a %s attribute", a.Name.Local)
				}
			}
		case xml.Directive, xml.ProcInst:
			return fmt.Errorf("graphviz: its output holds a declaration inside <svg>")
		}
	}
}
