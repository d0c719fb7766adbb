package cli

import (
	"debug/buildinfo"
	"fmt"
	"io"

	"github.com/gofil/gofil"
	"github.com/gofil/gofil/cmd/gofil/internal/build"
)

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
	settings, err := build.BakedSettings(path)
	if err != nil {
		return fail(exitBadInput, "%s: %v", path, err)
	}
	if !agent || settings == "" {
		return fail(exitFailed, "%s: not built by gofil build (%s, %s)", path, bi.Path, bi.GoVersion)
	}
	fmt.Fprintf(stdout, "%s: %s; %s, %s\n", path, settings, bi.Path, bi.GoVersion)
	return nil
}
