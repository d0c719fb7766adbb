package heap

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/heapprof"
	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/internal/regfile"
	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/internal/units"
)

// Limits on what gofil reads, so that its own memory is bounded whatever
// the input (a file as stored: regfile.MaxInputBytes): a profile once
// decompressed, and a function or file name, which is cut to this many
// bytes.
const (
	MaxProfileBytes = 128 << 20
	MaxNameBytes    = 1024
)

// ReadProfile reads a pprof profile: the protocol buffer, gzipped or not,
// or one of the legacy text formats, such as runtime/pprof's heap profile
// with debug=1, whose function names it takes from the comment lines.
func ReadProfile(path string) (*profile.Profile, error) {
	data, err := regfile.ReadLimited(path, regfile.MaxInputBytes)
	if err != nil {
		return nil, err
	}
	return ParseProfile(data)
}

// ParseProfile parses a profile as ReadProfile reads it, decompressing at
// most MaxProfileBytes and cutting names to MaxNameBytes.
func ParseProfile(data []byte) (*profile.Profile, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		plain, err := io.ReadAll(io.LimitReader(zr, MaxProfileBytes+1))
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w", err)
		}
		if len(plain) > MaxProfileBytes {
			return nil, fmt.Errorf("the profile is larger than %s decompressed, more than gofil reads", units.Bytes(MaxProfileBytes))
		}
		data = plain
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("heap profile:")) {
		symbolizeLegacy(p, data)
	}
	for _, f := range p.Function {
		f.Name, f.SystemName, f.Filename = cutName(f.Name), cutName(f.SystemName), cutName(f.Filename)
	}
	for _, m := range p.Mapping {
		m.File = cutName(m.File)
	}
	return p, nil
}

// cutName cuts s to MaxNameBytes, at a character's start, marking the cut.
func cutName(s string) string { return term.Cut(s, MaxNameBytes) }

// symbolizeLegacy names the locations of a legacy text heap profile, whose
// parser keeps only their addresses, from the comment lines runtime/pprof
// writes under each sample, innermost inlined call first:
//
//	#	0x4d96c5	main.hold+0x45		/src/h.go:4
func symbolizeLegacy(p *profile.Profile, data []byte) {
	lines := map[uint64][]profile.Line{}
	funcs := map[[2]string]*profile.Function{}
	var prev uint64
	skip := false
	for _, text := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(text, "#\t0x") {
			prev = 0
			continue
		}
		var fields []string
		for _, f := range strings.Split(text, "\t")[1:] {
			if f != "" {
				fields = append(fields, f)
			}
		}
		if len(fields) != 3 {
			continue
		}
		addr, err := strconv.ParseUint(strings.TrimPrefix(fields[0], "0x"), 16, 64)
		if err != nil {
			continue
		}
		if addr != prev { // a new address; seen before under another sample?
			prev = addr
			_, skip = lines[addr]
		}
		if skip {
			continue
		}
		name := fields[1]
		if i := strings.LastIndex(name, "+0x"); i > 0 {
			name = name[:i]
		}
		file, line := fields[2], 0
		if i := strings.LastIndexByte(file, ':'); i > 0 {
			if n, err := strconv.Atoi(file[i+1:]); err == nil {
				file, line = file[:i], n
			}
		}
		fn := funcs[[2]string{name, file}]
		if fn == nil {
			fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: name, Filename: file}
			funcs[[2]string{name, file}] = fn
			p.Function = append(p.Function, fn)
		}
		lines[addr] = append(lines[addr], profile.Line{Function: fn, Line: int64(line)})
	}
	for _, loc := range p.Location {
		if len(loc.Line) > 0 {
			continue
		}
		// The parser has already moved each address back by one onto
		// its call; older parsers did not.
		if ls, ok := lines[loc.Address]; ok {
			loc.Line = ls
		} else if ls, ok := lines[loc.Address-1]; ok {
			loc.Line = ls
		}
	}
}

// FromProfile builds the heap a heap profile holds: its inuse_space
// and inuse_objects samples, each stack root first with inlined calls as
// frames of their own.
func FromProfile(p *profile.Profile) (*Heap, error) {
	space, objects, liveSpace, liveObjects := -1, -1, -1, -1
	var types []string
	for i, st := range p.SampleType {
		types = append(types, st.Type+"/"+st.Unit)
		switch st.Type {
		case "inuse_space":
			space = i
		case "inuse_objects":
			objects = i
		case "live_space":
			liveSpace = i
		case "live_objects":
			liveObjects = i
		}
	}
	if space < 0 && p.PeriodType != nil && p.PeriodType.Type == "space" {
		// A legacy text heap profile whose in-use and allocated totals
		// agree is parsed with the types objects and space only.
		for i, st := range p.SampleType {
			switch {
			case st.Type == "space" && st.Unit == "bytes":
				space = i
			case st.Type == "objects" && st.Unit == "count":
				objects = i
			}
		}
	}
	if space < 0 {
		return nil, fmt.Errorf("not a heap profile: it has no inuse_space samples (it has %s)", strings.Join(types, ", "))
	}
	h := &Heap{Raw: raw.Profile{Version: raw.Version, Reason: "pprof", Rate: int(p.Period)}}
	for _, smp := range p.Sample {
		if len(smp.Value) != len(p.SampleType) {
			return nil, fmt.Errorf("a sample has %d values for %d sample types", len(smp.Value), len(p.SampleType))
		}
		b := smp.Value[space]
		var n int64
		if objects >= 0 {
			n = smp.Value[objects]
		}
		if b < 0 || n < 0 {
			return nil, errors.New("negative inuse_space or inuse_objects: is it the difference of two profiles?")
		}
		if b == 0 {
			continue
		}
		var frames []Frame
		for _, fr := range heapprof.Frames(smp) {
			if !HiddenFrame(fr.Func) {
				frames = append(frames, fr)
			}
		}
		st := Stack{Frames: frames, Bytes: b, Objects: n, Truncated: len(smp.Label["truncated"]) > 0}
		if liveSpace >= 0 {
			st.LiveBytes = smp.Value[liveSpace]
		}
		if liveObjects >= 0 {
			st.LiveObjects = smp.Value[liveObjects]
		}
		h.Stacks = append(h.Stacks, st)
		h.Bytes += b
		h.Objects += n
	}
	h.Raw.Bytes, h.Raw.Objects = h.Bytes, h.Objects
	return h, nil
}
