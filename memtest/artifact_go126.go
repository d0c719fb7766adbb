//go:build go1.26

package memtest

import (
	"flag"
	"testing"
)

// artifactDir is the test's artifact directory when the test binary runs
// with -artifacts, else "": without the flag, ArtifactDir would make a
// temporary directory that is removed with the test.
func artifactDir(tb testing.TB) string {
	f := flag.Lookup("test.artifacts")
	if f == nil || f.Value.String() != "true" {
		return ""
	}
	return tb.ArtifactDir()
}
