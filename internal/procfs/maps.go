package procfs

import (
	"bytes"
	"strconv"
)

// Range is an address range [Start, End).
type Range struct{ Start, End uint64 }

// HeapRanges finds the Go heap's arenas in the contents b of
// /proc/PID/maps (proc(5)): heapAddr is the address of an object in the Go
// heap. The arenas are reserved as one range and made usable a part at a
// time, so the anonymous mappings that touch the one holding the object,
// one after another, are the rest of that range; HeapRanges returns those
// that can be read or written (the reserve is mapped with no access). ok
// is false when b is not maps, or no anonymous mapping holds heapAddr.
func HeapRanges(b []byte, heapAddr uint64) (rs []Range, ok bool) {
	var vmas []vma
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) == 0 {
			continue
		}
		v, ok := mappingLine(line)
		if !ok {
			return nil, false
		}
		vmas = append(vmas, v)
	}
	at := -1
	for i, v := range vmas {
		if v.start <= heapAddr && heapAddr < v.end && v.anonymous() {
			at = i
		}
	}
	if at < 0 {
		return nil, false
	}
	lo, hi := at, at
	for lo > 0 && vmas[lo-1].anonymous() && vmas[lo-1].end == vmas[lo].start {
		lo--
	}
	for hi+1 < len(vmas) && vmas[hi+1].anonymous() && vmas[hi+1].start == vmas[hi].end {
		hi++
	}
	for _, v := range vmas[lo : hi+1] {
		if v.access {
			rs = append(rs, Range{v.start, v.end})
		}
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

// mappingLine parses a line "start-end perms offset dev inode [path]".
func mappingLine(line []byte) (vma, bool) {
	f := bytes.Fields(line)
	if len(f) < 5 {
		return vma{}, false
	}
	dash := bytes.IndexByte(f[0], '-')
	if dash < 0 || len(f[1]) < 3 {
		return vma{}, false
	}
	start, err1 := strconv.ParseUint(string(f[0][:dash]), 16, 64)
	end, err2 := strconv.ParseUint(string(f[0][dash+1:]), 16, 64)
	if err1 != nil || err2 != nil || end < start {
		return vma{}, false
	}
	// The path is the rest of the line after the fifth field (the
	// inode): it may hold spaces.
	rest := line
	for i := 0; i < 5; i++ {
		rest = bytes.TrimLeft(rest, " ")
		if j := bytes.IndexByte(rest, ' '); j >= 0 {
			rest = rest[j:]
		} else {
			rest = nil
		}
	}
	access := f[1][0] == 'r' || f[1][1] == 'w'
	return vma{start: start, end: end, access: access, path: bytes.Trim(rest, " ")}, true
}
