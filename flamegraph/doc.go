// Package flamegraph renders memory flamegraphs as self-contained,
// interactive SVG documents, in the manner of Brendan Gregg's flamegraph.pl
// and the peak-memory.svg reports of Python's Fil profiler, and converts
// allocation stacks to and from Brendan Gregg's collapsed ("folded") format.
//
// # Tree
//
// [Render] merges the stacks of all samples into one tree: two frames on the
// same path are the same node when their Func, File and Line are equal. A
// node's width is proportional to the bytes held by the samples that pass
// through it. Children are ordered alphabetically by function name, then by
// file and line, in both orientations, as flamegraph.pl does; the bytes a
// node holds itself sit to the right of its children.
//
// Children narrower than [Options.MinWidth] pixels are merged into a single
// frame named "other" placed after their siblings; a lone narrow child keeps
// its name. Merging never loses bytes: the root always shows exactly the sum
// of all samples, and every node holds exactly the bytes of the samples
// below it. Nodes holding zero bytes are not drawn.
//
// # Output
//
// The output is one <svg> element with no XML declaration and no DOCTYPE,
// so it is both a valid standalone .svg file and markup that can be pasted
// into an HTML page. Styles are scoped to the class "gofil-flamegraph" and
// the script finds its own <svg> through [Options.ID], so several graphs
// with different IDs can share one page. Every string taken from the input
// is XML-escaped; per-frame data reaches the script only through
// attributes and <title> elements, never as JavaScript source.
//
// The script lets a viewer hover a frame to see its details in a status
// line, click a frame to zoom into it, and search function names with a
// regular expression. An embedding page can drive the same features through
// functions the script puts on window, named after the ID:
//
//	window[ID + "_search"](regexp)  // highlight matches; returns {bytes, percent, frames}
//	window[ID + "_clearSearch"]()   // remove the highlight
//	window[ID + "_reset"]()         // undo any zoom
//
// The same input always produces the same bytes.
package flamegraph
