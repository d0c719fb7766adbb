package build

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sync"

	"github.com/gofil/gofil/internal/regfile"
)

// Settings is the string `gofil build` bakes into the tracker, which
// BakedSettings finds again in the binary: "gofil build (VERSION): rate N,
// oom-threshold F, keep N", and the output directory, quoted, if one is
// baked in.
func Settings(version string, rate uint64, oomThreshold string, keep uint64, out string) string {
	s := fmt.Sprintf("gofil build (%s): rate %d, oom-threshold %s, keep %d", version, rate, oomThreshold, keep)
	if out != "" {
		s += fmt.Sprintf(", out %q", out)
	}
	return s
}

// bakedSettings matches Settings' string as it lies among the binary's
// string data. It is compiled on first use: its bounded repetitions make a
// large program, whose compilation took some tens of milliseconds at the
// start of every gofil command.
var bakedSettings = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`gofil build \([^\x00-\x1f]{1,200}?\): rate [0-9]{1,20}, oom-threshold (?:off|[0-9.]{1,20}), keep [0-9]{1,10}(?:, out "(?:[^"\\\x00-\x1f]|\\.){1,1000}")?`)
})

// maxBinary bounds the binary BakedSettings reads.
const maxBinary = 4 << 30

// BakedSettings scans the file at path for the settings string `gofil
// build` bakes into the tracker ("gofil build (VERSION): rate N, ..."), in
// chunks that overlap by more than the string can be long. The longest
// match is the string itself: the build information's copy of -ldflags,
// where there is one, escapes its quotes.
func BakedSettings(path string) (string, error) {
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
		for _, m := range bakedSettings().FindAll(buf, -1) {
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
