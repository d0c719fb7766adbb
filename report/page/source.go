package page

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gofil/gofil/flamegraph"
	"github.com/gofil/gofil/internal/regfile"
	"github.com/gofil/gofil/report/heap"
)

// Limits on what the report reads and shows of source files.
const (
	maxSourceFile = 4 << 20 // larger files are not read
	maxSourceLine = 160     // longer lines are cut
)

// sourceCache reads the lines of Go source files named by stack frames,
// each file at most once for the whole page (the peak's graphs and every
// moment's). A file it cannot read gives no lines. A file is kept as read
// and only the lines asked for are trimmed and cut: a frame names a few
// lines of a file thousands long.
type sourceCache struct {
	files map[string]*sourceFile
}

// sourceFile is a file's text, where each of its lines starts, and the
// lines asked for so far, trimmed and cut.
type sourceFile struct {
	data   []byte
	starts []int32
	lines  map[int]string
}

func newSourceCache() *sourceCache {
	return &sourceCache{files: map[string]*sourceFile{}}
}

// line returns the text of line n of file, trimmed, or "" when the file
// cannot be read or is too short. Only .go files are read: a profile may
// name any path, and the line ends up in a page the user may share.
func (c *sourceCache) line(file string, n int) string {
	if n <= 0 || !strings.HasSuffix(file, ".go") {
		return ""
	}
	f, ok := c.files[file]
	if !ok {
		f = readSource(file)
		c.files[file] = f
	}
	if f == nil || n > len(f.starts) {
		return ""
	}
	if l, ok := f.lines[n]; ok {
		return l
	}
	text := f.data[f.starts[n-1]:]
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	l := cutLine(strings.TrimSpace(string(text)))
	f.lines[n] = l
	return l
}

// readSource reads file and finds where its lines start, as
// bufio.ScanLines splits them (a last line without a newline is one); nil
// if it cannot be read or is larger than maxSourceFile.
func readSource(file string) *sourceFile {
	f, st, err := regfile.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	if st.Size() > maxSourceFile {
		return nil
	}
	// Room for one byte more than the size, to see the end without
	// growing; a file that grew past maxSourceFile since is not read.
	data := make([]byte, 0, st.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if len(data) > maxSourceFile {
			return nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
	sf := &sourceFile{data: data, lines: map[int]string{}}
	for at := 0; at < len(data); {
		sf.starts = append(sf.starts, int32(at))
		i := bytes.IndexByte(data[at:], '\n')
		if i < 0 {
			break
		}
		at += i + 1
	}
	return sf
}

// cutLine makes s valid UTF-8 and at most maxSourceLine runes long.
func cutLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= maxSourceLine {
		return s
	}
	r := []rune(s)
	return string(r[:maxSourceLine-1]) + "…"
}

// userCode decides which frames are the program's own code, drawn in warm
// colours: functions of the module that holds the program's main package.
type userCode struct {
	// roots are the directories of the program's own code, with a
	// trailing separator: the module roots (the directories of go.mod)
	// above each file of package main, or the file's own directory when
	// no go.mod is found.
	roots []string
}

// newUserCode finds the program's module from the files of package main's
// frames in stacks. The file paths are those of the machine that built the
// program; when they cannot be read here, each main file's directory
// stands in for its module root.
func newUserCode(stacks []heap.Stack) *userCode {
	dirs := map[string]bool{}
	for _, s := range stacks {
		for _, f := range s.Frames {
			if f.File != "" && isMainPackage(f.Func) && filepath.IsAbs(f.File) {
				dirs[filepath.Dir(f.File)] = true
			}
		}
	}
	u := &userCode{}
	seen := map[string]bool{}
	for d := range dirs {
		root := moduleRoot(d)
		if root == "" || root == filepath.Dir(root) { // never the file system's root
			continue
		}
		root += string(filepath.Separator)
		if !seen[root] {
			seen[root] = true
			u.roots = append(u.roots, root)
		}
	}
	return u
}

// moduleRoot returns the directory of the go.mod that governs dir, or dir
// itself when there is none.
func moduleRoot(dir string) string {
	for d, i := dir, 0; i < 64; i++ {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && st.Mode().IsRegular() {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return dir
}

// IsUser reports whether f is the program's own code: package main (also
// as "command-line-arguments", for programs built from .go files), or any
// function defined in a file under the program's module root that is not
// vendored. Without package main frames to find the module by, it falls
// back to [flamegraph.DefaultIsUserCode].
func (u *userCode) IsUser(f flamegraph.Frame) bool {
	if strings.HasPrefix(f.Func, "runtime.") || strings.HasPrefix(f.Func, "internal/") {
		return false
	}
	if isMainPackage(f.Func) {
		return true
	}
	if len(u.roots) == 0 {
		return flamegraph.DefaultIsUserCode(f)
	}
	for _, root := range u.roots {
		if rest, ok := strings.CutPrefix(f.File, root); ok {
			return !strings.HasPrefix(rest, "vendor"+string(filepath.Separator))
		}
	}
	return false
}

// isMainPackage reports whether fn belongs to package main.
func isMainPackage(fn string) bool {
	pkg := flamegraph.PackagePath(fn)
	return pkg == "main" || pkg == "command-line-arguments"
}
