package leak

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// fuzzStacks are the stacks a fuzzed series picks from: two sharing an
// allocation site, one of the profiler's own, one in the runtime alone,
// and one without frames.
var fuzzStacks = [][]Frame{
	{{Func: "main.main", File: "/app/main.go", Line: 10}, {Func: "main.load", File: "/app/load.go", Line: 20}},
	{{Func: "main.serve", File: "/app/main.go", Line: 30}, {Func: "main.load", File: "/app/load.go", Line: 20}},
	{{Func: "net/http/pprof.handler", File: "/go/pprof.go", Line: 1}, {Func: "runtime/pprof.writeHeap", File: "/go/heap.go", Line: 2}},
	{{Func: "runtime.malg", File: "/go/proc.go", Line: 5}},
	nil,
}

// fuzzSeries decodes a series of snapshots from data, ten bytes a stack:
// a kind byte (a multiple of 8 starts a snapshot), the snapshot's move in
// time (signed, in tenths of a second: times may stand still or go back),
// its sampling period in 4 KiB and whether it carries allocations (odd),
// the stack's in-use bytes (int32; the extremes of int64 for 0x7fffffff
// and -0x80000000), its objects (signed) and its allocated bytes, a
// multiple of its in-use ones. Kind/8 picks the stack.
func fuzzSeries(data []byte) []Snapshot {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var snaps []Snapshot
	for ; len(data) >= 10; data = data[10:] {
		kind := data[0]
		if kind%8 == 0 || len(snaps) == 0 {
			t = t.Add(time.Duration(int8(data[1])) * 100 * time.Millisecond)
			snaps = append(snaps, Snapshot{Time: t, Period: int64(data[2]) << 12, HasAlloc: data[3]&1 == 1})
		}
		v := int64(int32(binary.LittleEndian.Uint32(data[4:8])))
		switch v {
		case math.MaxInt32:
			v = math.MaxInt64
		case math.MinInt32:
			v = math.MinInt64
		}
		cur := &snaps[len(snaps)-1]
		cur.Stacks = append(cur.Stacks, Stack{
			Frames:       fuzzStacks[int(kind/8)%len(fuzzStacks)],
			InuseBytes:   v,
			InuseObjects: int64(int8(data[8])),
			AllocBytes:   v * int64(data[9]%4),
			AllocObjects: int64(data[9]),
		})
	}
	return snaps
}

// fuzzRecord encodes one stack of fuzzSeries.
func fuzzRecord(kind byte, dt int8, inuse int32, objects int8, alloc byte) []byte {
	b := []byte{kind, byte(dt), 16, 1, 0, 0, 0, 0, byte(objects), alloc}
	binary.LittleEndian.PutUint32(b[4:], uint32(inuse))
	return b
}

// FuzzGrowthProfile analyses a fuzzed series of snapshots: whatever the
// figures (negative, at the extremes of int64, at times that stand still
// or go back), the analysis gives a summary that encodes as JSON, a page,
// and a growth profile that is valid, holds growth only and reads back.
func FuzzGrowthProfile(f *testing.F) {
	var steady, back []byte
	for i := int32(0); i < 8; i++ {
		steady = append(steady, fuzzRecord(0, 20, i<<24, int8(i), 1)...)  // main.load grows by 16 MiB a snapshot
		steady = append(steady, fuzzRecord(9, 0, 1<<20, 4, 2)...)         // the same site from another caller, level
		steady = append(steady, fuzzRecord(17, 0, i<<10, int8(i), 3)...)  // the profiler's own
		back = append(back, fuzzRecord(0, int8(10-4*i), 100-i, -1, 0)...) // time standing still and going back
	}
	f.Add(steady)
	f.Add(back)
	f.Add(append(fuzzRecord(0, 10, math.MaxInt32, 127, 3), fuzzRecord(8, 10, math.MinInt32, -128, 3)...))
	f.Add(append(fuzzRecord(32, 0, 5, 1, 1), fuzzRecord(24, 0, 7, 1, 1)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		snaps := fuzzSeries(data)
		res := Analyze(snaps, MinSnapshots(2))
		s := res.Summary("http://127.0.0.1:6060/debug/pprof/heap")
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("the summary does not encode: %v", err)
		}
		if err := WriteHTML(io.Discard, s, res); err != nil {
			t.Fatalf("the page: %v", err)
		}
		res.GrowthSamples(true)
		res.GrowthSamples(false)
		p := res.GrowthProfile()
		if err := p.CheckValid(); err != nil {
			t.Fatalf("the growth profile is not valid: %v", err)
		}
		for _, smp := range p.Sample {
			if smp.Value[0] < 0 || smp.Value[1] <= 0 {
				t.Fatalf("the growth profile holds a sample of %v: growth only", smp.Value)
			}
		}
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			t.Fatal(err)
		}
		q, err := profile.Parse(&buf)
		if err != nil {
			t.Fatalf("the growth profile does not read back: %v", err)
		}
		if len(q.Sample) != len(p.Sample) {
			t.Fatalf("%d samples read back, %d written", len(q.Sample), len(p.Sample))
		}
	})
}
