package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/gofil/gofil/report"
)

// listRuns writes a line for each of names, run directories in dir, newest
// first: its name, the heap at its peak and how it ended, from its raw
// files, without rendering a page.
func listRuns(dir string, names []string, stdout, stderr io.Writer) error {
	entries := make([]report.Entry, 0, len(names))
	for _, name := range names {
		entries = append(entries, report.ReadEntry(filepath.Join(dir, name)))
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if !entries[i].Started.Equal(entries[j].Started) {
			return entries[i].Started.After(entries[j].Started)
		}
		return entries[i].Name > entries[j].Name
	})
	runs := "runs"
	if len(entries) == 1 {
		runs = "run"
	}
	fmt.Fprintf(stderr, "gofil: %d %s in %s, newest first; 'gofil report %s' writes a run's report\n", len(entries), runs, dir, filepath.Join(dir, "NAME"))
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\n", printable(e.Name), e.Peak, e.Ended)
	}
	return w.Flush()
}

// printable is name, quoted when it holds a control character (a tab
// would break the columns, a newline the one line per run).
func printable(name string) string {
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return strconv.Quote(name)
	}
	return name
}
