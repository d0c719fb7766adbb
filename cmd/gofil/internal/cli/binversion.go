package cli

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"regexp"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/internal/regfile"
)

// bakedSettings matches the settings string `gofil build` bakes into the
// tracker (buildcmd.go), as it lies among the binary's string data.
var bakedSettings = regexp.MustCompile(`gofil build \([^\x00-\x1f]{1,200}?\): rate [0-9]{1,20}, oom-threshold (?:off|[0-9.]{1,20}), keep [0-9]{1,10}(?:, out "(?:[^"\\\x00-\x1f]|\\.){1,1000}")?`)

// maxBinary bounds the binary binaryVersion reads.
const maxBinary = 4 << 30

// binaryVersion prints the settings `gofil build` baked into path, found in
// its data: its build information loses -ldflags under -trimpath.
func binaryVersion(path string, stdout io.Writer) error {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fail(exitBadInput, "%s: not a Go binary (%v)", path, err)
	}
	agent := false
	for _, d := range bi.Deps {
		agent = agent || d.Path == gofil.AgentModule
	}
	settings, err := findSettings(path)
	if err != nil {
		return fail(exitBadInput, "%s: %v", path, err)
	}
	if !agent || settings == "" {
		return fail(exitFailed, "%s: not built by gofil build (%s, %s)", path, bi.Path, bi.GoVersion)
	}
	fmt.Fprintf(stdout, "%s: %s; %s, %s\n", path, settings, bi.Path, bi.GoVersion)
	return nil
}

// findSettings scans the file at path for the baked settings string, in
// chunks that overlap by more than the string can be long. The longest
// match is the string itself: the build information's copy of -ldflags,
// where there is one, escapes its quotes.
func findSettings(path string) (string, error) {
	f, err := regfile.OpenLimited(path, maxBinary)
	if err != nil {
		return "", err
	}
	defer f.Close()
	const chunk, overlap = 4 << 20, 8 << 10
	buf := make([]byte, 0, chunk+overlap)
	found := ""
	for {
		n, err := io.ReadFull(f, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		for _, m := range bakedSettings.FindAll(buf, -1) {
			if len(m) > len(found) {
				found = string(bytes.Clone(m))
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return found, nil
		}
		if err != nil {
			return "", err
		}
		keep := buf[len(buf)-overlap:]
		buf = append(buf[:0], keep...)
	}
}
