package flamegraph

import (
	"strings"

	"github.com/gofil/gofil/internal/heapprof"
)

// codeClass picks the palette a frame is drawn with.
type codeClass uint8

const (
	classUser codeClass = iota
	classLibrary
	classRuntime
)

// DefaultIsUserCode is the default [Options.IsUserCode]. It rejects the
// runtime (Func starting with "runtime." or "internal/") and the standard
// library (a package path whose first element has no dot, such as "fmt" or
// "encoding/json"), and accepts everything else, including the packages
// "main" and "command-line-arguments".
//
// A module whose path has no dot in its first element (say "myapp") looks
// like the standard library to this rule; pass an IsUserCode that knows the
// module path instead:
//
//	opts.IsUserCode = func(f flamegraph.Frame) bool {
//		return strings.HasPrefix(f.Func, "myapp/") || flamegraph.DefaultIsUserCode(f)
//	}
func DefaultIsUserCode(f Frame) bool {
	if heapprof.IsRuntime(f.Func) {
		return false
	}
	pkg := PackagePath(f.Func)
	if pkg == "main" || pkg == "command-line-arguments" {
		return true
	}
	first, _, _ := strings.Cut(pkg, "/")
	return strings.Contains(first, ".")
}

// ShortName is the shortest name that still says which function fn is:
// the package's own name and the function, without the import path before
// it. "github.com/owner/repo/v6/pkg/stages.LoadRecords" gives
// "stages.LoadRecords", "encoding/json.(*Decoder).Decode" gives
// "json.(*Decoder).Decode"; a major-version element names no package
// ("example.com/m/v2.F" gives "m.F").
func ShortName(fn string) string {
	pkg := PackagePath(fn)
	slash := strings.LastIndexByte(pkg, '/')
	if slash < 0 {
		return fn
	}
	name := pkg[slash+1:]
	if isMajorVersion(name) {
		if prev := strings.LastIndexByte(pkg[:slash], '/'); prev >= 0 {
			name = pkg[prev+1 : slash]
		} else {
			name = pkg[:slash]
		}
	}
	return name + fn[len(pkg):]
}

func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PackagePath returns the import path part of a qualified Go function name:
// "encoding/json" for "encoding/json.(*decodeState).object" and
// "example.com/m/v2" for "example.com/m/v2.F[go.shape.int]".
func PackagePath(fn string) string {
	if i := strings.IndexByte(fn, '['); i >= 0 {
		fn = fn[:i] // type arguments may hold dots and slashes of their own
	}
	start := strings.LastIndexByte(fn, '/') + 1
	if i := strings.IndexByte(fn[start:], '.'); i >= 0 {
		return fn[:start+i]
	}
	return fn
}

func classify(f Frame, isUser func(Frame) bool) codeClass {
	switch {
	case isUser(f):
		return classUser
	case heapprof.IsRuntime(f.Func):
		return classRuntime
	default:
		return classLibrary
	}
}
