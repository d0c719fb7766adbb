package flamegraph

// appendColour appends the fill of a function's frames as #rrggbb. The
// colour depends only on the function name and its class, so a function
// keeps its colour across frames, graphs and runs. The palettes follow
// flamegraph.pl: "hot" (reds, oranges, yellows) for user code, "mem"
// (greens to aquas) for libraries, "io" (slate blues) for the runtime.
func appendColour(dst []byte, fn string, class codeClass) []byte {
	v := mix32(fnv1a(fn))
	v1 := float64(v&0xff) / 255
	v2 := float64(v>>8&0xff) / 255
	v3 := float64(v>>16&0xff) / 255
	var r, g, b float64
	switch class {
	case classUser:
		r, g, b = 205+50*v3, 230*v1, 55*v2
	case classLibrary:
		r, g, b = 0, 190+50*v2, 210*v1
	default:
		r = 80 + 60*v1
		g, b = r, 190+55*v2
	}
	return appendHex(dst, r, g, b)
}

// fnv1a is the 32-bit FNV-1a hash of s.
func fnv1a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// mix32 is the MurmurHash3 finaliser: names that differ in one character
// still get unrelated colours.
func mix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func appendHex(dst []byte, r, g, b float64) []byte {
	const digits = "0123456789abcdef"
	dst = append(dst, '#')
	for _, c := range [...]float64{r, g, b} {
		x := byte(c)
		dst = append(dst, digits[x>>4], digits[x&15])
	}
	return dst
}
