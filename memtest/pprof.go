package memtest

import (
	"bytes"
	"compress/gzip"
	"runtime"
	"sort"
	"strings"
)

// encodeProfile writes an attribution as a gzipped pprof profile
// (profile.proto) with two sample types, inuse_objects and inuse_space:
// what each stack held at the peak, or retained, less what it held when
// the scope opened. Locations carry their functions, files and lines, so
// that the profile needs no binary to be read.
func encodeProfile(a *attribution) ([]byte, error) {
	e := &protoEncoder{strings: map[string]int64{"": 0}, stringList: []string{""}}
	e.locations = map[uintptr]uint64{}
	e.functions = map[[2]string]uint64{}
	e.runtimePCs = map[uintptr]bool{}

	var msg []byte
	for _, vt := range [][2]string{{"inuse_objects", "count"}, {"inuse_space", "bytes"}} {
		msg = appendBytesField(msg, 1, e.valueType(vt[0], vt[1]))
	}
	keys := make([]bucketKey, 0, len(a.buckets))
	for k := range a.buckets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return a.buckets[keys[i]].bytes > a.buckets[keys[j]].bytes })
	for _, k := range keys {
		h := a.buckets[k]
		var locs, vals []byte
		for _, pc := range e.trim(k.stack[:]) {
			locs = appendVarint(locs, e.location(pc))
		}
		vals = appendVarint(vals, uint64(h.objects))
		vals = appendVarint(vals, uint64(h.bytes))
		var sample []byte
		sample = appendBytesField(sample, 1, locs)
		sample = appendBytesField(sample, 2, vals)
		msg = appendBytesField(msg, 2, sample)
	}
	msg = append(msg, e.locationMsgs...)
	msg = append(msg, e.functionMsgs...)
	periodType := e.valueType("space", "bytes")
	for _, s := range e.stringList {
		msg = appendBytesField(msg, 6, []byte(s))
	}
	msg = appendBytesField(msg, 11, periodType)
	msg = appendVarintField(msg, 12, uint64(a.rate))

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(msg); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// trim cuts a stack at its end (the first zero) and drops its leading
// frames in the runtime (the allocator's), as runtime/pprof's heap
// profiles do, unless the stack is all runtime.
func (e *protoEncoder) trim(stack []uintptr) []uintptr {
	n := 0
	for n < len(stack) && stack[n] != 0 {
		n++
	}
	stack = stack[:n]
	for i, pc := range stack {
		if !e.inRuntime(pc) {
			return stack[i:]
		}
	}
	return stack
}

// inRuntime tells whether every frame of pc (inlined ones too) is the
// runtime's.
func (e *protoEncoder) inRuntime(pc uintptr) bool {
	if r, ok := e.runtimePCs[pc]; ok {
		return r
	}
	r := true
	frames := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			r = false
		}
		if !more {
			break
		}
	}
	e.runtimePCs[pc] = r
	return r
}

type protoEncoder struct {
	runtimePCs   map[uintptr]bool
	strings      map[string]int64
	stringList   []string
	locations    map[uintptr]uint64
	functions    map[[2]string]uint64
	locationMsgs []byte
	functionMsgs []byte
}

func (e *protoEncoder) str(s string) uint64 {
	if i, ok := e.strings[s]; ok {
		return uint64(i)
	}
	i := int64(len(e.stringList))
	e.strings[s] = i
	e.stringList = append(e.stringList, s)
	return uint64(i)
}

func (e *protoEncoder) valueType(typ, unit string) []byte {
	var b []byte
	b = appendVarintField(b, 1, e.str(typ))
	return appendVarintField(b, 2, e.str(unit))
}

// location returns the id of pc's location, with a line per frame
// (inlined ones first, as pprof wants).
func (e *protoEncoder) location(pc uintptr) uint64 {
	if id, ok := e.locations[pc]; ok {
		return id
	}
	id := uint64(len(e.locations) + 1)
	e.locations[pc] = id
	var loc []byte
	loc = appendVarintField(loc, 1, id)
	loc = appendVarintField(loc, 3, uint64(pc))
	frames := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := frames.Next()
		var line []byte
		line = appendVarintField(line, 1, e.function(f.Function, f.File))
		line = appendVarintField(line, 2, uint64(f.Line))
		loc = appendBytesField(loc, 4, line)
		if !more {
			break
		}
	}
	e.locationMsgs = appendBytesField(e.locationMsgs, 4, loc)
	return id
}

func (e *protoEncoder) function(name, file string) uint64 {
	k := [2]string{name, file}
	if id, ok := e.functions[k]; ok {
		return id
	}
	id := uint64(len(e.functions) + 1)
	e.functions[k] = id
	var fn []byte
	fn = appendVarintField(fn, 1, id)
	fn = appendVarintField(fn, 2, e.str(name))
	fn = appendVarintField(fn, 3, e.str(name))
	fn = appendVarintField(fn, 4, e.str(file))
	e.functionMsgs = appendBytesField(e.functionMsgs, 5, fn)
	return id
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	b = appendVarint(b, uint64(field)<<3)
	return appendVarint(b, v)
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}
