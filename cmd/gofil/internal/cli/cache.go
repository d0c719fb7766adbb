package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofil/gofil/internal/privtmp"
)

// buildCache returns the directory a run builds in and keeps the agent's
// source in: gofil's cache (privtmp.CacheDir), unless its path holds a
// backslash. The agent and any stand-in join the build by replace
// directives naming directories in it, and the go command refuses a
// replacement directory with a backslash in its path where the separator
// is the slash ("replacement directory appears to be Windows path"). A
// cache under such a home or XDG_CACHE_HOME is passed over, before anything
// is made there, for the place privtmp.CacheDir falls back on: a directory
// of the user's own in the temporary directory, made and checked the same
// way. When that path holds a backslash too, the run stops with one line
// saying what to change.
func buildCache() (string, error) {
	if base, err := os.UserCacheDir(); err != nil || !strings.Contains(base, `\`) {
		dir, err := privtmp.CacheDir()
		if err != nil {
			return "", err
		}
		if strings.Contains(dir, `\`) {
			return "", backslashError(dir)
		}
		return dir, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("gofil-%d", os.Getuid()))
	if strings.Contains(dir, `\`) {
		return "", backslashError(dir)
	}
	if err := privtmp.MakePrivate(dir); err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return dir, nil
}

func backslashError(dir string) error {
	return fmt.Errorf("cache directory %s: the go command refuses a module directory whose path holds a backslash; set XDG_CACHE_HOME or TMPDIR to a directory without one", dir)
}
