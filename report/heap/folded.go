package heap

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
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
//
// Each distinct frame is named once, and a stack is the numbers of its
// frames' names: the lines are sorted and summed as those numbers, which
// compare as the lines would, not as strings held for every stack.
func WriteFolded(w io.Writer, h *Heap) error {
	names, stacks := foldedNames(h)
	order := make([]int, len(stacks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return compareFolded(stacks[a], stacks[b], names) })
	// The lines, one per distinct stack, and their sums.
	var lines []int
	var sums []int64
	for i := 0; i < len(order); {
		stack := stacks[order[i]]
		lines = append(lines, order[i])
		var sum int64
		for ; i < len(order) && slices.Equal(stacks[order[i]], stack); i++ {
			sum += h.Stacks[order[i]].Bytes
		}
		sums = append(sums, sum)
	}
	if b, ok := w.(*bytes.Buffer); ok {
		// A buffer that grows by doubling would take up to three times
		// the text while it grows: it takes its exact size once.
		size := 0
		var num []byte
		for i, l := range lines {
			for j, id := range stacks[l] {
				size += len(names[id])
				if j > 0 {
					size++ // ';'
				}
			}
			num = strconv.AppendInt(num[:0], sums[i], 10)
			size += len(num) + 2 // ' ' before it, '\n' after
		}
		b.Grow(size)
	}
	bw := bufio.NewWriter(w)
	var num []byte
	for i, l := range lines {
		for j, id := range stacks[l] {
			if j > 0 {
				bw.WriteByte(';')
			}
			bw.WriteString(names[id])
		}
		bw.WriteByte(' ')
		num = strconv.AppendInt(num[:0], sums[i], 10)
		bw.Write(num)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// foldedNames numbers the names of h's frames as the folded lines write
// them, each distinct name once, and gives each stack as those numbers.
func foldedNames(h *Heap) (names []string, stacks [][]int32) {
	nameIDs := map[string]int32{}
	frameIDs := map[Frame]int32{}
	n := 0
	for _, s := range h.Stacks {
		n += len(s.Frames)
	}
	all := make([]int32, n)
	stacks = make([][]int32, len(h.Stacks))
	for i, s := range h.Stacks {
		stack := all[:len(s.Frames):len(s.Frames)]
		all = all[len(s.Frames):]
		for j, f := range s.Frames {
			id, ok := frameIDs[f]
			if !ok {
				name := strings.ReplaceAll(FrameName(f), ";", ":")
				if id, ok = nameIDs[name]; !ok {
					id = int32(len(names))
					nameIDs[name] = id
					names = append(names, name)
				}
				frameIDs[f] = id
			}
			stack[j] = id
		}
		if len(stack) == 1 && names[stack[0]] == "" {
			// One frame without a name is the line of no frames.
			stack = stack[:0]
		}
		stacks[i] = stack
	}
	return names, stacks
}

// compareFolded orders two stacks of name numbers as their lines, the
// names joined by ';', order as strings. No name holds a ';', equal names
// have one number, and no stack is one empty name: stacks that differ give
// lines that differ.
func compareFolded(a, b []int32, names []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		x, y := names[a[i]], names[b[i]]
		n := min(len(x), len(y))
		if c := strings.Compare(x[:n], y[:n]); c != 0 {
			return c
		}
		// One name begins the other: the shorter line goes on with ';'
		// or ends.
		if len(x) < len(y) {
			if i+1 == len(a) {
				return -1
			}
			return cmp.Compare(';', y[n])
		}
		if i+1 == len(b) {
			return 1
		}
		return cmp.Compare(x[n], ';')
	}
	return cmp.Compare(len(a), len(b))
}
