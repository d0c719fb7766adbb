package flamegraph

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// unknownFunc names a frame with no function name, and stands for the
// whole stack of a sample that has none, in both folded and SVG output.
const unknownFunc = "[unknown]"

// Fold writes samples in Brendan Gregg's collapsed ("folded") stack format,
// as read by flamegraph.pl, inferno, speedscope and [ParseFolded]: one line
// per distinct stack, frames root first separated by ';', a space, then the
// bytes held:
//
//	main.main;main.loadRows;encoding/json.Unmarshal 1048576
//
// Frames are named by Func only, without file or line, which is what those
// tools expect; stacks that differ only in files or lines therefore share a
// line, and their bytes are summed. Objects are not written. In a Func, ';'
// becomes ':' and line breaks become spaces so that the line can be split
// again; an empty Func, and an empty stack, are written as "[unknown]".
// Stacks whose bytes sum to zero are left out. Lines are sorted bytewise,
// so the output is deterministic.
//
// Usage:
//
//	err := os.WriteFile("peak-memory.folded", flamegraph.Fold(samples), 0o644)
func Fold(samples []Sample) []byte {
	sums := make(map[string]int64)
	var key []byte
	for _, s := range samples {
		key = key[:0]
		if len(s.Stack) == 0 {
			key = append(key, unknownFunc...)
		}
		for i, f := range s.Stack {
			if i > 0 {
				key = append(key, ';')
			}
			key = appendFoldName(key, f.Func)
		}
		sums[string(key)] += s.Bytes
	}
	keys := make([]string, 0, len(sums))
	for k, v := range sums {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []byte
	for _, k := range keys {
		out = append(out, k...)
		out = append(out, ' ')
		out = strconv.AppendInt(out, sums[k], 10)
		out = append(out, '\n')
	}
	return out
}

func appendFoldName(dst []byte, fn string) []byte {
	if fn == "" {
		return append(dst, unknownFunc...)
	}
	for i := 0; i < len(fn); i++ {
		switch c := fn[i]; c {
		case ';':
			dst = append(dst, ':')
		case '\n', '\r':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// ParseFolded reads stacks in the collapsed format that [Fold] writes:
// frames root first separated by ';', then a space and an integer count,
// one stack per line. Frame names may contain spaces: the count is what
// follows the last one. Each line becomes one [Sample] with the count as
// Bytes; its frames have only Func set. Blank lines are skipped; a line
// with a count but no frames yields a sample with an empty stack.
//
// Usage:
//
//	f, err := os.Open("peak-memory.folded")
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	samples, err := flamegraph.ParseFolded(f)
func ParseFolded(r io.Reader) ([]Sample, error) {
	br := bufio.NewReader(r)
	names := make(map[string]string) // one string per distinct frame name
	var samples []Sample
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("parse folded stacks: line %d: %w", lineNo, err)
		}
		if text := strings.TrimRight(line, "\r\n"); strings.TrimSpace(text) != "" {
			s, perr := parseFoldedLine(text, names)
			if perr != nil {
				return nil, fmt.Errorf("parse folded stacks: line %d: %w", lineNo, perr)
			}
			samples = append(samples, s)
		}
		if err != nil {
			return samples, nil
		}
	}
}

func parseFoldedLine(line string, names map[string]string) (Sample, error) {
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return Sample{}, errors.New("no space before the count")
	}
	n, err := strconv.ParseInt(line[sp+1:], 10, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("bad count: %w", err)
	}
	s := Sample{Bytes: n}
	if stack := line[:sp]; stack != "" {
		parts := strings.Split(stack, ";")
		s.Stack = make([]Frame, len(parts))
		for i, p := range parts {
			name, ok := names[p]
			if !ok {
				name = strings.Clone(p)
				names[name] = name
			}
			s.Stack[i].Func = name
		}
	}
	return s, nil
}
