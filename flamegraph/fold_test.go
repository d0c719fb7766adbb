package flamegraph

import (
	"bytes"
	"strings"
	"testing"
)

func TestFoldRoundTrip(t *testing.T) {
	hostile := []Sample{
		{Stack: []Frame{{Func: "main.main"}, {Func: "a;b\nc\rd"}}, Bytes: 7},
		{Stack: []Frame{{Func: ""}, {Func: "main.F[go.shape.struct { X int }]"}}, Bytes: 5},
		{Stack: nil, Bytes: 3},
		{Stack: []Frame{{Func: `main.<script>alert("x&y")</script>`}}, Bytes: 2},
		{Stack: []Frame{{Func: "main.gone"}}, Bytes: 0},
		{Stack: []Frame{{Func: "main.main"}, {Func: "a:b c d"}}, Bytes: 1},
	}
	for name, x := range map[string][]Sample{
		"small":     smallSamples(),
		"synthetic": syntheticSamples(2000, 11),
		"hostile":   hostile,
		"empty":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			folded := Fold(x)
			parsed, err := ParseFolded(bytes.NewReader(folded))
			if err != nil {
				t.Fatalf("ParseFolded(Fold(x)): %v", err)
			}
			if again := Fold(parsed); !bytes.Equal(again, folded) {
				t.Errorf("Fold(ParseFolded(Fold(x))) differs from Fold(x):\n%s\nvs\n%s", again, folded)
			}
			if got, want := sumBytes(parsed), sumBytes(x); got != want {
				t.Errorf("parsed samples hold %d bytes, want %d", got, want)
			}
		})
	}
}

func TestFoldFormat(t *testing.T) {
	got := string(Fold([]Sample{
		{Stack: []Frame{{Func: "main.main", Line: 1}, {Func: "main.b", File: "b.go", Line: 2}}, Bytes: 10},
		{Stack: []Frame{{Func: "main.main", Line: 2}, {Func: "main.b", File: "b.go", Line: 9}}, Bytes: 5},
		{Stack: []Frame{{Func: "main.main"}, {Func: "main.a"}}, Bytes: 1},
		{Stack: []Frame{{Func: "main.main"}}, Bytes: 2, Objects: 3},
		{Stack: []Frame{{Func: "main.main"}, {Func: "main.zero"}}, Bytes: 0},
		{Stack: []Frame{{Func: "a;b\nc"}}, Bytes: 4},
		{Stack: nil, Bytes: 6},
	}))
	want := "[unknown] 6\n" +
		"a:b c 4\n" +
		"main.main 2\n" +
		"main.main;main.a 1\n" +
		"main.main;main.b 15\n"
	if got != want {
		t.Errorf("Fold =\n%s\nwant\n%s", got, want)
	}
}

func TestParseFolded(t *testing.T) {
	in := "main.main;main.F[go.shape.struct { X int }] 12\r\n" +
		"\n" +
		"   \n" +
		" 3\n" +
		"main.main;main.F[go.shape.struct { X int }] 30" // no final newline
	got, err := ParseFolded(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d samples, want 3: %+v", len(got), got)
	}
	if s := got[0]; len(s.Stack) != 2 || s.Stack[1].Func != "main.F[go.shape.struct { X int }]" || s.Bytes != 12 {
		t.Errorf("first sample = %+v", s)
	}
	if s := got[1]; len(s.Stack) != 0 || s.Bytes != 3 {
		t.Errorf("stack-less sample = %+v", s)
	}
	if got[2].Bytes != 30 {
		t.Errorf("last line without newline: %+v", got[2])
	}
}

func TestParseFoldedErrors(t *testing.T) {
	for in, want := range map[string]string{
		"a;b 1\na;b\n":           "line 2: no space before the count",
		"a;b 1\n\na;b x\n":       "line 3: bad count",
		"a;b 1.5\n":              "line 1: bad count",
		"a 99999999999999999999": "line 1: bad count",
	} {
		_, err := ParseFolded(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFolded(%q) error = %v, want one containing %q", in, err, want)
		}
	}
}
