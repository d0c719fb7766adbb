package term

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Site is an allocation site as gofil prints it within a line on the
// terminal: its function and its file, shortened by relPath, with every
// control character escaped (Name), and its line.
func Site(function, file string, line int) string {
	return Name(function) + "  " + Name(relPath(file)) + ":" + strconv.Itoa(line)
}

// relPath shortens a path under the working directory, for display.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
