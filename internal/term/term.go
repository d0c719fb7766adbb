// Package term is how gofil writes to a terminal. Names from a profile or a
// program (functions, files, sample types) can hold control characters:
// an escape sequence that rewrites the screen, a right-to-left override
// that shows a line other than it is, a newline that starts a line of its
// own as if gofil had printed it. Those, and bytes that are not UTF-8, are
// written as Go escapes (\x1b, \u202e, \x0a).
package term

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Escaping returns a writer that writes to w with every control character
// escaped but newlines and tabs, which lay out gofil's own lines: what
// gofil writes to stdout and stderr goes through it. A name printed in a
// line goes through Name as well.
func Escaping(w io.Writer) io.Writer {
	if _, ok := w.(writer); ok {
		return w
	}
	return writer{w}
}

// Unescaped is the writer under one Escaping returned, for the program's
// own output, which gofil passes on as it is; any other w is returned as
// it is.
func Unescaped(w io.Writer) io.Writer {
	if t, ok := w.(writer); ok {
		return t.w
	}
	return w
}

// Name is s, a name to print within a line, with every control character
// escaped, newlines and tabs included.
func Name(s string) string {
	if clean([]byte(s), false) {
		return s
	}
	return string(escape([]byte(s), false))
}

// OneLine is err's message on one line, for a line of gofil's own.
func OneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// Cut cuts s to n bytes, at a character's start, marking the cut.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// IsTerminal reports whether w, or the writer under an Escaping one, is a
// terminal (a character device), where a line can be rewritten in place.
func IsTerminal(w io.Writer) bool {
	f, ok := Unescaped(w).(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type writer struct {
	w io.Writer
}

func (t writer) Write(p []byte) (int, error) {
	if clean(p, true) {
		return t.w.Write(p)
	}
	if _, err := t.w.Write(escape(p, true)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// clean reports whether p has nothing to escape, the common case; lines
// lets newlines and tabs pass.
func clean(p []byte, lines bool) bool {
	for _, c := range p {
		if c < 0x20 && !(lines && (c == '\n' || c == '\t')) || c >= 0x7f {
			return false
		}
	}
	return true
}

func escape(p []byte, lines bool) []byte {
	out := make([]byte, 0, len(p)+16)
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == utf8.RuneError && n == 1:
			out = fmt.Appendf(out, `\x%02x`, p[0])
		case lines && (r == '\n' || r == '\t'):
			out = append(out, byte(r))
		case r < 0x20 || r == 0x7f:
			out = fmt.Appendf(out, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, // C1 controls
			r == 0x061c, r == 0x200e, r == 0x200f, // bidirectional marks
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // embeddings, overrides, isolates
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[:n]...)
		}
		p = p[n:]
	}
	return out
}
