//go:build !go1.26

package memtest

import "testing"

// artifactDir is "": testing.TB has an artifact directory from Go 1.26.
func artifactDir(testing.TB) string { return "" }
