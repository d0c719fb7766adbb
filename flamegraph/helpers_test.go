package flamegraph

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// smallSamples is a fixed profile touching every kind of frame: user code,
// a third-party module, the standard library, the runtime, a frame with
// self bytes, a stack-less sample, two narrow siblings that merge into
// "other" and a lone narrow child that keeps its name.
func smallSamples() []Sample {
	const (
		goroot = "/usr/local/go/src/"
		app    = "/home/dev/app/"
	)
	rtMain := Frame{Func: "runtime.main", File: goroot + "runtime/proc.go", Line: 283}
	mainMain := Frame{Func: "main.main", File: app + "main.go", Line: 12, Source: "\trows := loadRows(db)"}
	loadRows := Frame{Func: "main.loadRows", File: app + "rows.go", Line: 40, Source: "\t\trows = append(rows, r)"}
	loadRowsJSON := Frame{Func: "main.loadRows", File: app + "rows.go", Line: 44, Source: "\t\tif err := json.Unmarshal(b, &r); err != nil {"}
	growslice := Frame{Func: "runtime.growslice", File: goroot + "runtime/slice.go", Line: 177}
	unmarshal := Frame{Func: "encoding/json.Unmarshal", File: goroot + "encoding/json/decode.go", Line: 108}
	object := Frame{Func: "encoding/json.(*decodeState).object", File: goroot + "encoding/json/decode.go", Line: 640}
	mapassign := Frame{Func: "reflect.mapassign_faststr", File: goroot + "runtime/map.go", Line: 1497}
	lruAdd := Frame{Func: "example.com/cache.(*LRU[go.shape.string,go.shape.int]).Add", File: "/home/dev/go/pkg/mod/example.com/cache@v1.2.0/lru.go", Line: 77, Source: "c.items[k] = e"}
	initFn := Frame{Func: "unicode.init", File: goroot + "unicode/tables.go", Line: 3}
	doInit := Frame{Func: "runtime.doInit1", File: goroot + "runtime/proc.go", Line: 7176}
	const mib = 1 << 20
	return []Sample{
		{Stack: []Frame{rtMain, mainMain, loadRows, growslice}, Bytes: 64 * mib, Objects: 12},
		{Stack: []Frame{rtMain, mainMain, loadRowsJSON, unmarshal, object, mapassign}, Bytes: 20 * mib, Objects: 40960},
		{Stack: []Frame{rtMain, mainMain, loadRowsJSON, unmarshal}, Bytes: 3 * mib, Objects: 3},
		{Stack: []Frame{rtMain, mainMain, lruAdd}, Bytes: 10 * mib, Objects: 1000},
		{Stack: []Frame{rtMain, mainMain, lruAdd, {Func: "main.lonely", File: app + "lonely.go", Line: 5}}, Bytes: 100, Objects: 1},
		{Stack: []Frame{rtMain, mainMain}, Bytes: 1 * mib, Objects: 1},
		{Stack: []Frame{rtMain, mainMain, {Func: "main.tinyA", File: app + "tiny.go", Line: 3}}, Bytes: 10 << 10, Objects: 10},
		{Stack: []Frame{rtMain, mainMain, {Func: "main.tinyB", File: app + "tiny.go", Line: 9}}, Bytes: 20 << 10, Objects: 20},
		{Stack: []Frame{doInit, initFn}, Bytes: 300 << 10, Objects: 30},
		{Stack: nil, Bytes: 4 << 10, Objects: 2},
		{Stack: []Frame{rtMain, mainMain, loadRows, growslice}, Bytes: 2 * mib, Objects: 1},
	}
}

// syntheticSamples returns n distinct stacks of depth 18 to 22. The first
// frames come from a few callers so the top of the tree is wide and deep;
// the rest are drawn uniformly from a pool of 2,000 functions.
func syntheticSamples(n int, seed uint64) []Sample {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pkgs := []string{"main", "example.com/app/store", "example.com/app/api", "encoding/json", "bytes", "strings", "runtime", "internal/poll", "github.com/acme/lib/v2"}
	pool := make([]Frame, 2000)
	for i := range pool {
		pkg := pkgs[i%len(pkgs)]
		name := pkg + ".fn" + strconv.Itoa(i)
		if i%7 == 0 {
			name = pkg + ".(*T" + strconv.Itoa(i%13) + ").Method" + strconv.Itoa(i)
		}
		pool[i] = Frame{
			Func: name,
			File: "/src/" + pkg + "/file" + strconv.Itoa(i%17) + ".go",
			Line: 1 + rng.IntN(900),
		}
	}
	rtMain := Frame{Func: "runtime.main", File: "/usr/local/go/src/runtime/proc.go", Line: 283}
	mainMain := Frame{Func: "main.main", File: "/src/main/main.go", Line: 10}
	seen := make(map[string]bool, n)
	samples := make([]Sample, 0, n)
	var key []byte
	for len(samples) < n {
		depth := 18 + rng.IntN(5)
		stack := make([]Frame, depth)
		stack[0], stack[1] = rtMain, mainMain
		key = key[:0]
		for d := 2; d < depth; d++ {
			var i int
			switch d {
			case 2:
				i = rng.IntN(10)
			case 3:
				i = rng.IntN(50)
			default:
				i = rng.IntN(len(pool))
			}
			stack[d] = pool[i]
			key = strconv.AppendInt(key, int64(i), 10)
			key = append(key, ',')
		}
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		samples = append(samples, Sample{Stack: stack, Bytes: 1 + rng.Int64N(1<<20), Objects: 1 + rng.Int64N(100)})
	}
	return samples
}

func sumBytes(samples []Sample) int64 {
	var t int64
	for _, s := range samples {
		t += s.Bytes
	}
	return t
}

func render(t testing.TB, samples []Sample, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, samples, opts); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.Bytes()
}

// svgFrame is what a test can see of one drawn frame.
type svgFrame struct {
	class   string
	s, v, d int64
	title   string
	label   string
}

// parseSVG decodes out with encoding/xml until EOF, failing the test on
// any error, and returns its frames in document order.
func parseSVG(t testing.TB, out []byte) []svgFrame {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(out))
	var frames []svgFrame
	var cur *svgFrame
	var path []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("output is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
			if tok.Name.Local == "g" && hasClass(attr(tok, "class"), "f") {
				frames = append(frames, svgFrame{
					class: attr(tok, "class"),
					s:     atoi(t, attr(tok, "data-s")),
					v:     atoi(t, attr(tok, "data-v")),
					d:     atoi(t, attr(tok, "data-d")),
				})
				cur = &frames[len(frames)-1]
			}
		case xml.EndElement:
			path = path[:len(path)-1]
			if tok.Name.Local == "g" {
				cur = nil
			}
		case xml.CharData:
			if cur == nil {
				break
			}
			switch path[len(path)-1] {
			case "title":
				cur.title += string(tok)
			case "text":
				cur.label += string(tok)
			}
		}
	}
	return frames
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func hasClass(classes, c string) bool {
	for _, x := range strings.Fields(classes) {
		if x == c {
			return true
		}
	}
	return false
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q: %v", s, err)
	}
	return n
}

// rootOf returns the frame at depth 0, which must be the only one.
func rootOf(t testing.TB, frames []svgFrame) svgFrame {
	t.Helper()
	var roots []svgFrame
	for _, f := range frames {
		if f.d == 0 {
			roots = append(roots, f)
		}
	}
	if len(roots) != 1 {
		t.Fatalf("found %d root frames, want 1", len(roots))
	}
	return roots[0]
}
