package flamegraph

import (
	"strings"
	"testing"
)

func TestDefaultIsUserCode(t *testing.T) {
	for fn, want := range map[string]codeClass{
		"main.loadRows":                                  classUser,
		"main.main.func1":                                classUser,
		"command-line-arguments.F":                       classUser,
		"example.com/app/store.(*DB).Get":                classUser,
		"github.com/acme/lib/v2.Parse[go.shape.int]":     classUser,
		"encoding/json.(*decodeState).object":            classLibrary,
		"fmt.Sprintf":                                    classLibrary,
		"slices.Sort[go.shape.[]string,go.shape.string]": classLibrary,
		"runtime/debug.ReadBuildInfo":                    classLibrary,
		"runtime.mallocgc":                               classRuntime,
		"internal/poll.(*FD).Read":                       classRuntime,
		"gogo":                                           classLibrary,
	} {
		if got := classify(Frame{Func: fn}, DefaultIsUserCode); got != want {
			t.Errorf("classify(%q) = %v, want %v", fn, got, want)
		}
	}
}

func TestCustomIsUserCode(t *testing.T) {
	isUser := func(f Frame) bool { return strings.HasPrefix(f.Func, "myapp/") }
	for fn, want := range map[string]codeClass{
		"myapp/store.Get":           classUser,
		"main.main":                 classLibrary,
		"github.com/acme/lib.Parse": classLibrary,
		"runtime.mallocgc":          classRuntime,
	} {
		if got := classify(Frame{Func: fn}, isUser); got != want {
			t.Errorf("classify(%q) = %v, want %v", fn, got, want)
		}
	}
}

func TestColoursAreStableAndDistinct(t *testing.T) {
	colour := func(fn string, c codeClass) string { return string(appendColour(nil, fn, c)) }
	first := colour("main.f", classUser)
	if again := colour("main.f", classUser); first != again {
		t.Errorf("the same function got two colours: %s and %s", first, again)
	}
	if colour("main.f", classUser) == colour("main.g", classUser) {
		t.Error("main.f and main.g share a colour")
	}
	// Each palette keeps to its own hues: warm (much red, little blue) for
	// user code, green to aqua (no red) for libraries, slate blue (blue above
	// equal red and green) for the runtime.
	for i := range 500 {
		fn := "pkg.F" + itoa(i)
		for class, ok := range map[codeClass]func(r, g, b int) bool{
			classUser:    func(r, g, b int) bool { return r >= 205 && b <= 55 },
			classLibrary: func(r, g, b int) bool { return r == 0 && g >= 190 },
			classRuntime: func(r, g, b int) bool { return r == g && b > r },
		} {
			c := colour(fn, class)
			if !ok(hexByte(c[1:3]), hexByte(c[3:5]), hexByte(c[5:7])) {
				t.Fatalf("colour %s of %s is outside the palette of class %d", c, fn, class)
			}
		}
	}
}

func hexByte(s string) int {
	v := 0
	for _, c := range s {
		v *= 16
		if c >= 'a' {
			v += int(c-'a') + 10
		} else {
			v += int(c - '0')
		}
	}
	return v
}

func TestShortName(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/johnkerl/miller/v6/pkg/stages.LoadRecords": "stages.LoadRecords",
		"encoding/json.(*Decoder).Decode":                      "json.(*Decoder).Decode",
		"main.main":                                            "main.main",
		"example.com/m/v2.F[go.shape.int]":                     "m.F[go.shape.int]",
		"example.com/cache.(*LRU[go.shape.string]).Add":        "cache.(*LRU[go.shape.string]).Add",
		"runtime.mallocgc":                                     "runtime.mallocgc",
	} {
		if got := ShortName(fn); got != want {
			t.Errorf("ShortName(%q) = %q, want %q", fn, got, want)
		}
	}
}
