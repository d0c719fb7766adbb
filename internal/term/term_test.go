package term

import (
	"bytes"
	"testing"
)

func TestEscapeControls(t *testing.T) {
	for in, want := range map[string]string{
		"main.load\n":               "main.load\n",
		"a\tb":                      "a\tb",
		"\x1b[2Jmain.x":             `\x1b[2Jmain.x`,
		"evil\u202egnp.exe":         `evil\u202egnp.exe`,
		"bell\a del\x7f":            `bell\x07 del\x7f`,
		"c1 \u009b":                 `c1 \u009b`,
		"bad \xff utf-8":            `bad \xff utf-8`,
		"ünïcödé ⌘ 日本":              "ünïcödé ⌘ 日本",
		"isolate \u2066x\u2069 end": `isolate \u2066x\u2069 end`,
	} {
		var b bytes.Buffer
		n, err := Escaping(&b).Write([]byte(in))
		if err != nil || n != len(in) || b.String() != want {
			t.Errorf("writing %q gave %q (%d, %v), want %q", in, b.String(), n, err, want)
		}
	}
}

// TestNameEscapesLines: a name cannot end gofil's line and start one of
// its own, nor move the columns after it.
func TestNameEscapesLines(t *testing.T) {
	for in, want := range map[string]string{
		"main.load":                "main.load",
		"main.x\ngofil: all clear": `main.x\x0agofil: all clear`,
		"a\tb\r\x00":               `a\x09b\x0d\x00`,
		"\x1b[2J\xffmain.\u202ex":  `\x1b[2J\xffmain.\u202ex`,
		"ünïcödé ⌘ 日本":             "ünïcödé ⌘ 日本",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	if w := Escaping(Escaping(&b)); Unescaped(w) != &b {
		t.Errorf("Escaping twice escapes twice")
	}
}
