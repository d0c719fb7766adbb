package flamegraph

import (
	_ "embed"
	"io"
	"strconv"
	"strings"

	"github.com/gofil/gofil/internal/units"
)

// Layout, in pixels. The script reads the values it needs from data-
// attributes of the <svg> element rather than repeating them.
const (
	xPad           = 10   // margin left and right of the frames
	minFramesWidth = 10   // narrowest frames area Render accepts
	rowHeight      = 16   // vertical distance between rows
	rectHeight     = 15   // height of a frame, leaving a 1px gap
	fontSize       = 12   // frame labels, controls, status line
	titleSize      = 17   // the title
	charWidth      = 7.08 // average glyph width of the label font (0.59 em)
	textPad        = 3    // gap between a frame's left edge and its label
	textDY         = 11   // label baseline below the top of its frame
	topPad         = 36   // title and controls above the frames
	bottomPad      = 34   // status line below the frames
)

// Colours of the frames that do not stand for a function.
const (
	rootColour  = "#d8d8d8"
	otherColour = "#b8b8b8"
	background  = "#eeeeee"
)

//go:embed assets/flamegraph.css
var styleSheet string

// script is a JavaScript function expression taking the ID of its <svg>;
// writeSVG calls it with the validated ID.
//
//go:embed assets/flamegraph.js
var script string

// svgWriter accumulates output in buf and hands it to w in chunks, keeping
// the first write error.
type svgWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (s *svgWriter) flush() {
	if s.err == nil && len(s.buf) > 0 {
		_, s.err = s.w.Write(s.buf)
	}
	s.buf = s.buf[:0]
}

func (s *svgWriter) str(v string) { s.buf = append(s.buf, v...) }
func (s *svgWriter) esc(v string) { s.buf = appendEscaped(s.buf, v, false) }
func (s *svgWriter) attr(v string) {
	s.buf = appendEscaped(s.buf, v, true)
}
func (s *svgWriter) i64(v int64)     { s.buf = strconv.AppendInt(s.buf, v, 10) }
func (s *svgWriter) coord(v float64) { s.buf = appendCoord(s.buf, v) }
func (s *svgWriter) num(name string, v int64) {
	s.str(" " + name + `="`)
	s.i64(v)
	s.str(`"`)
}

// layout holds what placing frames needs.
type layout struct {
	cfg    config
	total  int64
	split  bool    // samples say what is live: boxes show their garbage paler
	scale  float64 // pixels per byte
	depth  int
	height int
}

func (l *layout) rowY(d int) int {
	if l.cfg.Orientation == Icicle {
		return topPad + d*rowHeight
	}
	return topPad + (l.depth-1-d)*rowHeight
}

// writeSVG writes the whole document for t to w and returns the first
// write error.
func writeSVG(w io.Writer, t tree, cfg config) error {
	l := layout{cfg: cfg, total: t.root.total, depth: t.depth, split: t.root.live > 0}
	l.height = topPad + t.depth*rowHeight + bottomPad
	if l.total > 0 {
		l.scale = cfg.framesWidth() / float64(l.total)
	}
	s := &svgWriter{w: w, buf: make([]byte, 0, 8<<10)}
	width, height := int64(cfg.Width), int64(l.height)

	s.str(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" class="gofil-flamegraph" id="`)
	s.attr(cfg.ID)
	s.str(`"`)
	s.num("width", width)
	s.num("height", height)
	s.str(` viewBox="0 0 `)
	s.i64(width)
	s.str(" ")
	s.i64(height)
	s.str(`"`)
	s.num("data-total", l.total)
	s.str(` data-unit="`)
	s.attr(cfg.Unit)
	s.str(`"`)
	s.num("data-xpad", xPad)
	s.str(` data-fw="`)
	s.coord(cfg.framesWidth())
	s.str(`" data-cw="`)
	s.coord(charWidth)
	s.str(`"`)
	s.num("data-tp", textPad)
	s.num("data-ty", textDY)
	s.str(">\n<style><![CDATA[\n")
	s.str(styleSheet)
	s.str("]]></style>\n")

	s.str(`<rect x="0" y="0"`)
	s.num("width", width)
	s.num("height", height)
	s.str(` fill="` + background + `"/>` + "\n")
	s.str(`<text class="fg-title" text-anchor="middle" x="`)
	s.coord(float64(cfg.Width) / 2)
	s.str(`" y="24" font-size="` + strconv.Itoa(titleSize) + `">`)
	s.esc(cfg.Title)
	s.str("</text>\n")
	s.str(`<text class="fg-ctl fg-reset h"`)
	s.num("x", xPad)
	s.str(` y="24">Reset Zoom</text>` + "\n")
	s.str(`<text class="fg-ctl fg-search" text-anchor="end"`)
	s.num("x", width-xPad)
	s.str(` y="24">Search</text>` + "\n")

	s.str(`<g class="fg-frames">` + "\n")
	l.writeNode(s, t.root, 0, 0)
	s.str("</g>\n")

	s.str(`<text class="fg-details"`)
	s.num("x", xPad)
	s.num("y", height-12)
	s.str("> </text>\n")
	s.str(`<text class="fg-matched" text-anchor="end"`)
	s.num("x", width-xPad)
	s.num("y", height-12)
	s.str("> </text>\n")

	s.str("<script><![CDATA[\n")
	s.str(script)
	s.str(`("`)
	s.str(cfg.ID) // checkID allows only [A-Za-z0-9_-], safe inside a JS string
	s.str("\");\n]]></script>\n</svg>\n")
	s.flush()
	return s.err
}

// writeNode writes n, whose bytes start at offset start from the left
// edge, at row d, then its children from left to right.
func (l *layout) writeNode(s *svgWriter, n *node, start int64, d int) {
	x := xPad + float64(start)*l.scale
	w := float64(n.total) * l.scale
	if n.kind == kindRoot {
		w = l.cfg.framesWidth() // also when there are no bytes at all
	}
	y := l.rowY(d)

	s.str(`<g class="f`)
	switch n.kind {
	case kindRoot:
		s.str(" r")
	case kindOther:
		s.str(" o")
	}
	s.str(`"`)
	s.num("data-s", start)
	s.num("data-v", n.total)
	s.num("data-d", int64(d))
	if l.split {
		s.num("data-lv", n.live)
	}
	if short := n.shortLabel(); short != n.label() {
		// The label drawn; the title and the search keep the full name.
		s.str(` data-l="`)
		s.esc(short)
		s.str(`"`)
	}
	s.str("><title>")
	l.writeTitle(s, n)
	s.str(`</title><rect x="`)
	s.coord(x)
	s.str(`"`)
	s.num("y", int64(y))
	s.str(` width="`)
	s.coord(w)
	s.str(`" height="` + strconv.Itoa(rectHeight) + `" fill="`)
	s.buf = l.appendFill(s.buf, n)
	s.str(`"/>`)
	if l.split && n.total > 0 && n.live < n.total {
		// The garbage part, paler: a veil over the box's right end.
		lw := w * float64(n.live) / float64(n.total)
		s.str(`<rect class="fg-g" x="`)
		s.coord(x + lw)
		s.str(`"`)
		s.num("y", int64(y))
		s.str(` width="`)
		s.coord(w - lw)
		s.str(`" height="` + strconv.Itoa(rectHeight) + `"/>`)
	}
	if label := fitLabel(n.shortLabel(), w); label != "" {
		s.str(`<text x="`)
		s.coord(x + textPad)
		s.str(`"`)
		s.num("y", int64(y+textDY))
		s.str(">")
		s.esc(label)
		s.str("</text>")
	}
	s.str("</g>\n")
	if len(s.buf) > 32<<10 {
		s.flush()
	}

	for _, c := range n.children {
		l.writeNode(s, c, start, d+1)
		start += c.total
	}
}

// label is the name a frame is drawn with and searched by; it is also the
// first line of its <title>.
func (n *node) label() string {
	if n.kind == kindFrame && n.frame.Func == "" {
		return unknownFunc
	}
	return n.frame.Func
}

// shortLabel is the name a frame is drawn with: its function without the
// package's import path before the package's own name (ShortName).
func (n *node) shortLabel() string {
	if n.kind != kindFrame || n.frame.Func == "" {
		return n.label()
	}
	return ShortName(n.frame.Func)
}

// writeTitle writes the tooltip of n: one fact per line, the name first.
// The script shows the same lines, joined, in the status line.
func (l *layout) writeTitle(s *svgWriter, n *node) {
	s.esc(n.label())
	s.str("\n")
	switch n.kind {
	case kindOther:
		s.i64(int64(n.merged))
		s.str(" frames narrower than ")
		s.coord(l.cfg.minWidth)
		s.str(" px, merged\n")
	case kindFrame:
		if f := n.frame; f.File != "" {
			s.esc(f.File)
			if f.Line > 0 {
				s.str(":")
				s.i64(int64(f.Line))
			}
			s.str("\n")
		}
		if src := strings.TrimSpace(n.frame.Source); src != "" {
			s.esc(src)
			s.str("\n")
		}
	}
	s.buf = appendHuman(s.buf, n.total, l.cfg.Unit)
	if l.cfg.Unit == DefaultUnit {
		s.str(" (")
		s.buf = units.AppendGrouped(s.buf, n.total)
		s.str(" bytes)")
	}
	s.str(", ")
	s.buf = appendPercent(s.buf, n.total, l.total)
	if n.objects > 0 {
		s.str(", ")
		s.buf = units.AppendGrouped(s.buf, n.objects)
		if n.objects == 1 {
			s.str(" object")
		} else {
			s.str(" objects")
		}
	}
	if l.split {
		s.str("\nlive ")
		s.buf = appendHuman(s.buf, n.live, l.cfg.Unit)
		s.str(", ")
		s.str(l.cfg.RestLabel)
		s.str(" ")
		s.buf = appendHuman(s.buf, n.total-n.live, l.cfg.Unit)
	}
}

func (l *layout) appendFill(dst []byte, n *node) []byte {
	switch n.kind {
	case kindRoot:
		return append(dst, rootColour...)
	case kindOther:
		return append(dst, otherColour...)
	}
	return appendColour(dst, n.frame.Func, classify(n.frame, l.cfg.IsUserCode))
}

func (c config) framesWidth() float64 { return float64(c.Width - 2*xPad) }
