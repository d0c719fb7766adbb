package heap

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
)

func FuzzParseProfile(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("testdata", "inlined.pb.gz")); err == nil {
		f.Add(data)
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			var plain bytes.Buffer
			plain.ReadFrom(zr)
			f.Add(plain.Bytes()) // the protocol buffer, not gzipped
		}
	}
	var legacy bytes.Buffer
	pprof.Lookup("heap").WriteTo(&legacy, 1) // the legacy text format
	f.Add(legacy.Bytes())
	f.Add([]byte("heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1 0x2\n#\t0x1\tmain.f+0x1\t/x.go:3\n"))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data)
		if err != nil {
			return
		}
		for _, fn := range p.Function {
			if len(fn.Name) > MaxNameBytes+len("…") || len(fn.Filename) > MaxNameBytes+len("…") {
				t.Fatalf("a name of %d bytes passed the cut", max(len(fn.Name), len(fn.Filename)))
			}
		}
		q, _ := Clean(p, nil)
		h, err := FromProfile(q)
		if err != nil {
			return
		}
		var total int64
		for _, s := range h.Stacks {
			total += s.Bytes
		}
		if total != h.Bytes {
			t.Fatalf("the stacks hold %d bytes, the heap says %d", total, h.Bytes)
		}
		var folded bytes.Buffer
		if err := WriteFolded(&folded, h); err != nil {
			t.Fatal(err)
		}
	})
}
