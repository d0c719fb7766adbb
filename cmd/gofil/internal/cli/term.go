package cli

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// termWriter is what gofil writes to the terminal through: names from a
// profile or a program (functions, files, URLs) can hold control
// characters, an escape sequence that rewrites the screen or a
// right-to-left override that shows a line other than it is. Those, and
// bytes that are not UTF-8, are written as Go escapes (\x1b, \u202e);
// newlines and tabs pass.
type termWriter struct {
	w io.Writer
}

// unescaped is the writer under w, for the program's own output, which gofil
// passes on as it is.
func unescaped(w io.Writer) io.Writer {
	if t, ok := w.(termWriter); ok {
		return t.w
	}
	return w
}

func (t termWriter) Write(p []byte) (int, error) {
	if clean(p) {
		return t.w.Write(p)
	}
	if _, err := t.w.Write(escapeControls(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// clean reports whether p has nothing to escape, the common case.
func clean(p []byte) bool {
	for _, c := range p {
		if c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

func escapeControls(p []byte) []byte {
	out := make([]byte, 0, len(p)+16)
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == utf8.RuneError && n == 1:
			out = fmt.Appendf(out, `\x%02x`, p[0])
		case r == '\n' || r == '\t':
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
