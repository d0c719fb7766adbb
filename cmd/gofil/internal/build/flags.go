package build

import (
	"fmt"
	"strconv"
	"strings"
)

// splitGOFLAGS splits a GOFLAGS value as the go command does
// (cmd/internal/quoted.Split): fields separated by spaces, a field may be
// wrapped in single or double quotes, with nothing unescaped inside.
func splitGOFLAGS(s string) ([]string, error) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	var out []string
	for len(s) > 0 {
		for len(s) > 0 && isSpace(s[0]) {
			s = s[1:]
		}
		if len(s) == 0 {
			break
		}
		if q := s[0]; q == '"' || q == '\'' {
			i := strings.IndexByte(s[1:], q)
			if i < 0 {
				return nil, fmt.Errorf("GOFLAGS: unterminated %c string", q)
			}
			out = append(out, s[1:1+i])
			s = s[i+2:]
			continue
		}
		i := 0
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out, nil
}

// buildFlags returns the flags gofil gives `go build`: the user's, with
// the linker flag the tracker needs (-checklinkname=0, for its exit hook)
// and own, further linker flags of gofil's (the settings `gofil build`
// bakes in with -X), added to every -ldflags they set, on the command line
// or in GOFLAGS. Each of own is one field of a -ldflags value, quoted
// as the go command splits them (ldflagsField).
//
// -ldflags is a per-package flag: each occurrence, GOFLAGS' first and then
// the command line's, adds a value, and a package takes the last value
// whose pattern matches it (cmd/go/internal/load/flag.go). A plain
// -ldflags=-checklinkname=0 on the command line would therefore replace
// the user's -ldflags for the main package, GOFLAGS=-ldflags=-X=... as
// much as a -ldflags of theirs on the command line (`go run` keeps them).
// So gofil's own value goes first and every value of the user's follows
// with the flag added: whichever of them the main package takes has it.
//
// The build tag LinknameTag selects the tracker's file that reaches the
// runtime through linkname (plain `go test ./...`, without the linker
// flag, builds the other). -tags is not per package: the last one given
// wins, the command line's over GOFLAGS'. So the user's tags and gofil's
// go in one -tags flag, at the end.
func buildFlags(goflags, flags, own []string) []string {
	ownFlags := "-checklinkname=0"
	for _, f := range own {
		ownFlags += " " + f
	}
	var values []string
	tags := ""
	for _, f := range goflags {
		if v, ok := flagValue(f, "ldflags"); ok {
			values = append(values, v)
		}
		if v, ok := flagValue(f, "tags"); ok {
			tags = v
		}
	}
	out := []string{"-ldflags=" + ownFlags}
	var rest []string
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		if v, ok := flagValue(f, "ldflags"); ok {
			values = append(values, v)
			continue
		}
		if (f == "-ldflags" || f == "--ldflags") && i+1 < len(flags) {
			values = append(values, flags[i+1])
			i++
			continue
		}
		if v, ok := flagValue(f, "tags"); ok {
			tags = v
			continue
		}
		if (f == "-tags" || f == "--tags") && i+1 < len(flags) {
			tags = flags[i+1]
			i++
			continue
		}
		rest = append(rest, f)
	}
	for _, v := range values {
		out = append(out, "-ldflags="+withOwnLdflags(v, ownFlags))
	}
	out = append(out, "-tags="+withLinknameTag(tags))
	return append(rest, out...)
}

// LinknameTag is the build tag under which the tracker reaches runtime
// internals through linkname (tracker/runtime_go124.go).
const LinknameTag = "gofil_linkname"

// flagValue returns the value of a -NAME=VALUE (or --NAME=VALUE) flag f.
func flagValue(f, name string) (string, bool) {
	for _, p := range []string{"-" + name + "=", "--" + name + "="} {
		if v, ok := strings.CutPrefix(f, p); ok {
			return v, true
		}
	}
	return "", false
}

// withLinknameTag adds LinknameTag to a -tags value, comma-separated (the
// go command also takes the older space-separated form).
func withLinknameTag(tags string) string {
	var list []string
	for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ',' || r == ' ' }) {
		if t != LinknameTag {
			list = append(list, t)
		}
	}
	return strings.Join(append(list, LinknameTag), ",")
}

// withOwnLdflags adds gofil's own linker flags to one -ldflags value,
// before the user's (so that a -X of theirs wins over one of gofil's), after
// its package pattern if it has one ("all=-s -w").
func withOwnLdflags(v, own string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return own
	}
	if !strings.HasPrefix(v, "-") {
		if i := strings.IndexByte(v, '='); i > 0 {
			return v[:i+1] + own + " " + v[i+1:]
		}
		return v // not valid: the go command says why
	}
	return own + " " + v
}

// hasFlag reports whether flags set the go command's flag name ("-mod"),
// written with one dash or two, with its value after "=" or not.
func hasFlag(flags []string, name string) bool {
	name = strings.TrimLeft(name, "-")
	for _, f := range flags {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "-"), "-")
		if f == name || strings.HasPrefix(f, name+"=") {
			return true
		}
	}
	return false
}

// boolFlag reports whether the last setting of the go command's boolean
// flag name ("-trimpath") in flags, one dash or two, turns it on.
func boolFlag(flags []string, name string) bool {
	name = strings.TrimLeft(name, "-")
	on := false
	for _, f := range flags {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "-"), "-")
		if f == name {
			on = true
		} else if v, ok := strings.CutPrefix(f, name+"="); ok {
			b, err := strconv.ParseBool(v)
			on = err == nil && b
		}
	}
	return on
}

// tagFlags returns the -tags flags among flags, "-tags=x" or "-tags" "x":
// what decides, beyond the platform, which files a package has.
func tagFlags(flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		f := strings.TrimPrefix(flags[i], "-")
		switch {
		case strings.HasPrefix(f, "-tags=") || strings.HasPrefix(f, "tags="):
			out = append(out, flags[i])
		case (f == "-tags" || f == "tags") && i+1 < len(flags):
			out = append(out, flags[i], flags[i+1])
			i++
		}
	}
	return out
}

// ldflagsField quotes s as one field of a -ldflags value, which the go
// command splits at spaces, taking a field wrapped in single or double
// quotes whole (cmd/internal/quoted.Split). A field holding both quotes
// and a space, or a newline, cannot be given.
func ldflagsField(s string) (string, error) {
	switch {
	case strings.ContainsAny(s, "\n\r"):
		return "", fmt.Errorf("%q: a linker flag cannot hold a newline", s)
	case !strings.ContainsAny(s, " \t'\""):
		return s, nil
	case !strings.Contains(s, "'"):
		return "'" + s + "'", nil
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, nil
	}
	return "", fmt.Errorf("%q: a linker flag cannot hold both kinds of quote", s)
}
