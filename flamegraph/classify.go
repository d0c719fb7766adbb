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
