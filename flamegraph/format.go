package flamegraph

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/gofil/gofil/internal/units"
)

// appendHuman appends n in the given unit for a reader: binary multiples
// with one decimal for bytes ("1.5 MiB"), a grouped number otherwise
// ("1,234 objects"). The script's human() must stay in step with it.
func appendHuman(dst []byte, n int64, unit string) []byte {
	if unit != DefaultUnit {
		dst = units.AppendGrouped(dst, n)
		dst = append(dst, ' ')
		return appendEscaped(dst, unit, false)
	}
	return units.AppendBytes(dst, n)
}

// appendPercent appends 100*v/total with two decimals and a percent sign.
func appendPercent(dst []byte, v, total int64) []byte {
	p := 0.0
	if total > 0 {
		p = 100 * float64(v) / float64(total)
	}
	dst = strconv.AppendFloat(dst, p, 'f', 2, 64)
	return append(dst, '%')
}

// appendCoord appends a pixel coordinate with at most two decimals and no
// trailing zeros, to keep large graphs small.
func appendCoord(dst []byte, x float64) []byte {
	x = math.Round(x*100) / 100
	if x == 0 {
		x = 0 // no "-0"
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, x, 'f', 2, 64)
	for dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
	}
	if dst[len(dst)-1] == '.' {
		dst = dst[:len(dst)-1]
	}
	if len(dst) == start {
		dst = append(dst, '0')
	}
	return dst
}

// appendEscaped appends s escaped for XML character data, or for a
// double- or single-quoted attribute value if attr is set. Characters XML
// does not allow (most control characters, U+FFFE, U+FFFF) and invalid
// UTF-8 become U+FFFD, so any input yields well-formed XML.
func appendEscaped(dst []byte, s string, attr bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '&':
				dst = append(dst, "&amp;"...)
			case '<':
				dst = append(dst, "&lt;"...)
			case '>':
				dst = append(dst, "&gt;"...)
			case '"':
				dst = append(dst, "&quot;"...)
			case '\'':
				dst = append(dst, "&#39;"...)
			case '\r':
				dst = append(dst, "&#13;"...)
			case '\n':
				if attr {
					dst = append(dst, "&#10;"...)
				} else {
					dst = append(dst, '\n')
				}
			case '\t':
				if attr {
					dst = append(dst, "&#9;"...)
				} else {
					dst = append(dst, '\t')
				}
			default:
				if c < 0x20 {
					dst = append(dst, "\uFFFD"...)
				} else {
					dst = append(dst, c)
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// fitLabel returns name as it fits into a frame w pixels wide, cut short
// with ".." if needed, or "" if not even three characters fit. The
// script's fit() must stay in step with it.
func fitLabel(name string, w float64) string {
	n := int(math.Floor((w - 2*textPad) / charWidth))
	if n < 3 {
		return ""
	}
	if utf8.RuneCountInString(name) <= n {
		return name
	}
	cut := 0
	for range n - 2 {
		_, size := utf8.DecodeRuneInString(name[cut:])
		cut += size
	}
	return name[:cut] + ".."
}
