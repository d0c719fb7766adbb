// Package units formats sizes and counts the way every gofil report shows
// them.
package units

import "strconv"

var binary = []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// Bytes formats n in binary units: "512 B", "1.5 KiB", "-3.25 GiB". From a
// GiB on, sizes have two decimals: one would round 1.449 GiB and 1.451 GiB,
// a few MiB apart, to 1.4 and 1.5.
func Bytes(n int64) string {
	return string(AppendBytes(nil, n))
}

// AppendBytes appends Bytes(n) to dst.
func AppendBytes(dst []byte, n int64) []byte {
	u := uint64(n)
	if n < 0 {
		dst = append(dst, '-')
		u = uint64(-n)
	}
	if u < 1024 {
		dst = strconv.AppendUint(dst, u, 10)
		return append(dst, " B"...)
	}
	v, i := float64(u)/1024, 0
	for v >= 1024 && i < len(binary)-1 {
		v /= 1024
		i++
	}
	decimals := 1
	if i >= 2 {
		decimals = 2
	}
	dst = strconv.AppendFloat(dst, v, 'f', decimals, 64)
	dst = append(dst, ' ')
	return append(dst, binary[i]...)
}

// Signed is Bytes with a "+" before growth: "+1.5 MiB", "-2.0 KiB", "+0 B".
func Signed(n int64) string {
	if n >= 0 {
		return "+" + Bytes(n)
	}
	return Bytes(n)
}

// Grouped formats n with commas between groups of three digits: "1,234,567".
func Grouped(n int64) string {
	return string(AppendGrouped(nil, n))
}

// AppendGrouped appends Grouped(n) to dst.
func AppendGrouped(dst []byte, n int64) []byte {
	var buf [20]byte
	digits := strconv.AppendInt(buf[:0], n, 10)
	if n < 0 {
		dst = append(dst, '-')
		digits = digits[1:]
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, d)
	}
	return dst
}
