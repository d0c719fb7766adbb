package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
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
		n, err := termWriter{&b}.Write([]byte(in))
		if err != nil || n != len(in) || b.String() != want {
			t.Errorf("writing %q gave %q (%d, %v), want %q", in, b.String(), n, err, want)
		}
	}
}

// TestNamesEscapedOnTheTerminal: function and file names with an escape
// sequence and a right-to-left override, from a profile, reach gofil's
// stderr escaped.
func TestNamesEscapedOnTheTerminal(t *testing.T) {
	p := inlinedProfile()
	for _, f := range p.Function {
		f.Name = "\x1b[2J\x1b[31m" + f.Name + "\u202eexe.txt"
		f.Filename = "\x1b]0;owned\x07" + f.Filename
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "heap.pb.gz")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"report", "-o", filepath.Join(dir, "report"), path}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("gofil report: exit code %d\n%s", code, stderr.String())
	}
	if strings.ContainsAny(stderr.String(), "\x1b\x07\u202e") {
		t.Errorf("stderr has raw control characters:\n%q", stderr.String())
	}
	if !strings.Contains(stderr.String(), `\x1b[31m`) || !strings.Contains(stderr.String(), `\u202eexe.txt`) {
		t.Errorf("stderr does not show the names escaped:\n%s", stderr.String())
	}
}
