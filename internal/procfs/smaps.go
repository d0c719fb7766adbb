package procfs

import (
	"bytes"
	"strconv"
)

// Resident is a process's resident memory as /proc/PID/smaps divides it by
// mapping, in bytes.
type Resident struct {
	// Total is the sum of every mapping's resident pages.
	Total uint64
	// Heap is what is resident in the Go heap's arenas: the anonymous
	// mappings, one after another in memory, that hold the Go heap.
	Heap uint64
	// Anon is what is resident in the other anonymous mappings: the Go
	// runtime's own (metadata, stacks it asks the system for), and
	// everything outside it (cgo's malloc, the brk heap, mmap).
	Anon uint64
	// Binary is the executable's mappings and its zero-filled data
	// (.bss), the anonymous mapping that follows them.
	Binary uint64
	// Files is every other mapping: mapped files, shared libraries,
	// shared memory and the kernel's own pages (vdso).
	Files uint64
}

// vma is one mapping of smaps: its address range, path and resident bytes.
type vma struct {
	start, end uint64
	path       []byte
	rss        uint64
}

// Smaps divides the contents b of /proc/PID/smaps (proc(5)) by mapping:
// heapAddr is the address of an object in the Go heap, which finds its
// arenas, and exe the executable's path as the file names it. ok is false
// when b is not smaps, or holds no mapping containing heapAddr.
func Smaps(b []byte, heapAddr uint64, exe string) (r Resident, ok bool) {
	vmas, ok := parseSmaps(b)
	if !ok {
		return Resident{}, false
	}
	arena := -1
	for i, v := range vmas {
		if v.start <= heapAddr && heapAddr < v.end && len(v.path) == 0 {
			arena = i
		}
	}
	if arena < 0 {
		return Resident{}, false
	}
	// The arenas are reserved as one range and made usable a part at a
	// time: the anonymous mappings that touch the one holding the heap
	// object are the rest of that range.
	lo, hi := arena, arena
	for lo > 0 && len(vmas[lo-1].path) == 0 && vmas[lo-1].end == vmas[lo].start {
		lo--
	}
	for hi+1 < len(vmas) && len(vmas[hi+1].path) == 0 && vmas[hi+1].start == vmas[hi].end {
		hi++
	}
	exeB := []byte(exe)
	for i, v := range vmas {
		r.Total += v.rss
		switch {
		case i >= lo && i <= hi:
			r.Heap += v.rss
		case isExe(v.path, exeB):
			r.Binary += v.rss
		case len(v.path) == 0 && i > 0 && isExe(vmas[i-1].path, exeB) && vmas[i-1].end == v.start:
			r.Binary += v.rss // the executable's .bss
		case len(v.path) == 0 || bytes.Equal(v.path, []byte("[heap]")) || bytes.HasPrefix(v.path, []byte("[stack")):
			r.Anon += v.rss
		case bytes.HasPrefix(v.path, []byte("[anon")):
			r.Anon += v.rss // a named anonymous mapping ([anon: Go: heap] is found by address)
		default:
			r.Files += v.rss
		}
	}
	return r, true
}

// isExe reports whether a mapping's path is the executable's, perhaps
// deleted since it started.
func isExe(path, exe []byte) bool {
	if len(exe) == 0 {
		return false
	}
	return bytes.Equal(path, exe) || bytes.Equal(bytes.TrimSuffix(path, []byte(" (deleted)")), exe)
}

// parseSmaps reads the mappings of b in order: each starts with a line
// "start-end perms offset dev inode [path]", followed by "Key: value kB"
// lines, of which Rss is kept.
func parseSmaps(b []byte) ([]vma, bool) {
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
		if v, ok := mappingLine(line); ok {
			vmas = append(vmas, v)
			continue
		}
		if bytes.HasPrefix(line, []byte("Rss:")) {
			if len(vmas) == 0 {
				return nil, false
			}
			kb, ok := kBValue(line[len("Rss:"):])
			if !ok {
				return nil, false
			}
			vmas[len(vmas)-1].rss = kb << 10
		}
	}
	return vmas, len(vmas) > 0
}

// mappingLine parses a mapping's first line; ok is false for any other.
func mappingLine(line []byte) (vma, bool) {
	f := bytes.Fields(line)
	if len(f) < 5 {
		return vma{}, false
	}
	dash := bytes.IndexByte(f[0], '-')
	if dash < 0 {
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
	return vma{start: start, end: end, path: bytes.Trim(rest, " ")}, true
}

// kBValue parses " 1234 kB" into 1234.
func kBValue(b []byte) (uint64, bool) {
	b = bytes.TrimSpace(b)
	if !bytes.HasSuffix(b, []byte(" kB")) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b[:len(b)-3])), 10, 64)
	return v, err == nil && v < 1<<44
}
