package procfs

import "bytes"

// Range is an address range [Start, End).
type Range struct{ Start, End uint64 }

// HeapRanges finds the Go heap's arenas in the contents b of
// /proc/PID/maps (proc(5)): heapAddr is the address of an object in the Go
// heap. The arenas are reserved as one range and made usable a part at a
// time, so the anonymous mappings that touch the one holding the object,
// one after another, are the rest of that range; HeapRanges appends those
// that can be read or written (the reserve is mapped with no access) to
// rs[:0] and returns it, so that a caller that keeps rs allocates nothing.
// ok is false when b is not maps, or no anonymous mapping holds heapAddr.
func HeapRanges(b []byte, heapAddr uint64, rs []Range) (_ []Range, ok bool) {
	rs = rs[:0]
	// The run of anonymous mappings, each touching the one before, that
	// the current line belongs to: its accessible ones are in rs, and
	// found says whether one holds heapAddr. Once that run is over, the
	// lines after it are only checked.
	var runEnd uint64
	inRun, found, over := false, false, false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if len(line) == 0 {
			continue
		}
		v, ok := mappingLine(line)
		if !ok {
			return nil, false
		}
		if over {
			continue
		}
		if !v.anonymous() || (inRun && v.start != runEnd) {
			if found {
				over = true
				continue
			}
			rs = rs[:0]
			inRun = false
			if !v.anonymous() {
				continue
			}
		}
		inRun, runEnd = true, v.end
		if v.start <= heapAddr && heapAddr < v.end {
			found = true
		}
		if v.access {
			rs = append(rs, Range{v.start, v.end})
		}
	}
	if !found {
		return nil, false
	}
	return rs, true
}

// vma is one mapping: its address range, whether it can be read or
// written, and its path.
type vma struct {
	start, end uint64
	access     bool
	path       []byte
}

// anonymous reports whether v maps no file: no path, or a name given to
// anonymous memory ("[anon: Go: heap]" where the kernel names them).
func (v vma) anonymous() bool {
	return len(v.path) == 0 || bytes.HasPrefix(v.path, []byte("[anon:"))
}

// mappingLine parses a line "start-end perms offset dev inode [path]",
// without allocating.
func mappingLine(line []byte) (vma, bool) {
	var f [5][]byte
	rest := line
	for i := range f {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		f[i], rest = rest[:end], rest[end:]
		if len(f[i]) == 0 {
			return vma{}, false
		}
	}
	dash := bytes.IndexByte(f[0], '-')
	if dash < 0 || len(f[1]) < 3 {
		return vma{}, false
	}
	start, ok1 := parseHex(f[0][:dash])
	end, ok2 := parseHex(f[0][dash+1:])
	if !ok1 || !ok2 || end < start {
		return vma{}, false
	}
	// The path is the rest of the line: it may hold spaces.
	access := f[1][0] == 'r' || f[1][1] == 'w'
	return vma{start: start, end: end, access: access, path: bytes.Trim(rest, " ")}, true
}

// parseHex parses a hexadecimal address of at most 16 digits.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
