package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/pprof/profile"

	"github.com/gofil/gofil/internal/term"
	"github.com/gofil/gofil/leak"
)

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
	writeProfile(t, path, p)
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

// TestNamesEscapedOnEveryStream: names from a profile with an escape
// sequence, a NUL, bytes that are not UTF-8 and a newline followed by what
// looks like one of gofil's lines reach stdout (gofil diff) and stderr
// (gofil report, the watch's summary, an error quoting a sample type)
// escaped, and never start a line of their own.
func TestNamesEscapedOnEveryStream(t *testing.T) {
	const fake = "gofil: all clear"
	evil := func(p *profile.Profile) *profile.Profile {
		for _, f := range p.Function {
			f.Name = "\x1b[2J\x00" + f.Name + "\xff\n" + fake
			f.Filename += "\n" + fake
		}
		return p
	}
	dir := t.TempDir()
	write := func(name string, p *profile.Profile) string {
		t.Helper()
		path := filepath.Join(dir, name)
		writeProfile(t, path, p)
		return path
	}
	check := func(what, out string) {
		t.Helper()
		if strings.ContainsAny(out, "\x1b\x00") || !utf8.ValidString(out) {
			t.Errorf("%s has raw control characters or bytes not UTF-8:\n%q", what, out)
		}
		if strings.HasPrefix(out, fake) || strings.Contains(out, "\n"+fake) {
			t.Errorf("%s has a line a name made:\n%s", what, out)
		}
		if !strings.Contains(out, `\x0a`+fake) {
			t.Errorf("%s does not show the names escaped:\n%s", what, out)
		}
	}

	empty := evil(inlinedProfile())
	empty.Sample = nil
	base, next := write("base.pb.gz", empty), write("next.pb.gz", evil(inlinedProfile()))
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"diff", "-o", filepath.Join(dir, "diff.svg"), base, next}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gofil diff: exit code %d\n%s", code, stderr.String())
	}
	check("gofil diff's stdout", stdout.String())

	stdout.Reset()
	stderr.Reset()
	if code := Run(context.Background(), []string{"report", "-o", filepath.Join(dir, "report"), next}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gofil report: exit code %d\n%s", code, stderr.String())
	}
	check("gofil report's stderr", stderr.String())

	stderr.Reset()
	site := leak.Site{Function: "main.x\n" + fake, File: "main.go\n" + fake, Line: 1}
	watchText(term.Escaping(&stderr), &leak.Summary{Snapshots: 5, Verdict: leak.VerdictSuspects, Suspects: []leak.Site{site}, Churn: []leak.Site{site}})
	check("gofil watch's summary", stderr.String())

	types := inlinedProfile()
	types.SampleType[0].Type += "\n" + fake
	types.SampleType = types.SampleType[:1]
	for _, s := range types.Sample {
		s.Value = s.Value[:1]
	}
	stdout.Reset()
	stderr.Reset()
	Run(context.Background(), []string{"diff", "-o", filepath.Join(dir, "types.svg"), base, write("types.pb.gz", types)}, nil, &stdout, &stderr)
	check("gofil diff's error", stderr.String())
}
