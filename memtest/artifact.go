package memtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeArtifact writes m's heap profile into the test's artifact
// directory when the test binary runs with -artifacts (Go 1.26 on), and
// returns its path; "" without.
func writeArtifact(tb testing.TB, m measured) (string, error) {
	dir := artifactDir(tb)
	if dir == "" {
		return "", nil
	}
	data, err := encodeProfile(m.attr)
	if err != nil {
		return "", fmt.Errorf("encoding the heap profile: %w", err)
	}
	name := "memtest-peak.pb.gz"
	if m.kind == retainedKind {
		name = "memtest-retained.pb.gz"
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing the heap profile: %w", err)
	}
	return path, nil
}
