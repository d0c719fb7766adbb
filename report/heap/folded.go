package heap

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// FrameName is how a frame is named in collapsed stacks and flamegraphs:
// "pkg.Func (file.go:line)".
func FrameName(f Frame) string {
	if f.File == "" {
		return f.Func
	}
	return fmt.Sprintf("%s (%s:%d)", f.Func, filepath.Base(f.File), f.Line)
}

// WriteFolded writes h in Brendan Gregg's collapsed format, one line per
// distinct stack, root first, sorted.
func WriteFolded(w io.Writer, h *Heap) error {
	sums := map[string]int64{}
	for _, s := range h.Stacks {
		names := make([]string, len(s.Frames))
		for i, f := range s.Frames {
			names[i] = strings.ReplaceAll(FrameName(f), ";", ":")
		}
		sums[strings.Join(names, ";")] += s.Bytes
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		fmt.Fprintf(bw, "%s %d\n", k, sums[k])
	}
	return bw.Flush()
}
