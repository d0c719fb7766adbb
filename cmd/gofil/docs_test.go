package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// summaryDoc is the page whose table documents summary.json's fields, and
// summaryHeading the heading of the section that holds the table.
const (
	summaryDoc     = "../../docs/report.md"
	summaryHeading = "## summary.json"
)

// TestSummaryFieldsDocumented holds the table of summary.json's fields in
// docs/report.md to the summary.json gofil writes. It reads the JSON, not
// the Go types, so that it checks what a reader of the file sees: every
// key of a run of testdata/example, of a run directory written again
// (report/rundir/testdata/run) and of a report of a pprof profile must be in the
// table, by its dotted name (a list of objects adds its elements' keys to
// its own name: top.function). A name the table lists that none of those
// summaries holds (a field written only in some runs, peak.live_from_gc
// say) must at least be a JSON name in gofil's source, so that a
// misspelt or removed field fails too.
func TestSummaryFieldsDocumented(t *testing.T) {
	documented := summaryDocFields(t)
	tmp := t.TempDir()
	run := filepath.Join(tmp, "run")
	r := runGofil(t, exec.Command(gofilBin, "run", "-o", run, testdata(t, "example")))
	if r.code != 0 {
		t.Fatalf("gofil run: exit code %d\n%s", r.code, r.stderr)
	}
	again := filepath.Join(tmp, "again")
	r = runGofil(t, exec.Command(gofilBin, "report", "-o", again, filepath.Join("..", "..", "report", "rundir", "testdata", "run")))
	if r.code != 0 {
		t.Fatalf("gofil report DIR: exit code %d\n%s", r.code, r.stderr)
	}
	prof := filepath.Join(tmp, "profile")
	r = runGofil(t, exec.Command(gofilBin, "report", "-o", prof, filepath.Join(run, "peak.pb.gz")))
	if r.code != 0 {
		t.Fatalf("gofil report PROFILE: exit code %d\n%s", r.code, r.stderr)
	}

	written := map[string]bool{} // every dotted name, true for a leaf
	for _, dir := range []string{run, again, prof} {
		data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		jsonNames(v, "", written)
	}

	for _, name := range sortedKeys(written) {
		if !written[name] || documented[name] {
			continue
		}
		// An empty list or a null object has no keys of its own to show;
		// the table may list its fields instead.
		covered := false
		for d := range documented {
			covered = covered || strings.HasPrefix(d, name+".")
		}
		if !covered {
			t.Errorf("summary.json has %s, which %s does not list", name, summaryDoc)
		}
	}
	source := sourceJSONNames(t)
	for _, name := range sortedKeys(documented) {
		if _, ok := written[name]; ok {
			continue
		}
		leaf := name[strings.LastIndex(name, ".")+1:]
		if !source[leaf] {
			t.Errorf("%s lists %s, which summary.json never holds: no field of gofil's source is named %q", summaryDoc, name, leaf)
		}
	}
}

// summaryDocFields returns the names the summary.json table lists: every
// `name` in the first cell of each row.
func summaryDocFields(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(summaryDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+summaryHeading+"\n")
	if !ok {
		t.Fatalf("%s has no heading %q", summaryDoc, summaryHeading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	code := regexp.MustCompile("`([^`]+)`")
	names := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 3 {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			names[m[1]] = true
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s: no fields in the table under %q", summaryDoc, summaryHeading)
	}
	return names
}

// jsonNames adds to names the dotted name of every key in v under prefix,
// true for a leaf: a value that is not an object, nor a list of objects.
// The keys of a list's objects are named after the list.
func jsonNames(v any, prefix string, names map[string]bool) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		if _, ok := names[prefix]; !ok && prefix != "" {
			names[prefix] = false
		}
		for k, x := range v {
			jsonNames(x, join(k), names)
		}
	case []any:
		objects := false
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				objects = true
				jsonNames(m, prefix, names)
			}
		}
		if !objects {
			names[prefix] = true
		}
	default:
		names[prefix] = true
	}
}

// sourceJSONNames returns the names gofil's Go source (tests and test
// programs aside) gives JSON fields or map keys: each "name" in a struct
// tag json:"name,…" or a quoted string.
func sourceJSONNames(t *testing.T) map[string]bool {
	t.Helper()
	quoted := regexp.MustCompile(`"([a-z][a-z0-9_]*)[",]`)
	names := map[string]bool{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range quoted.FindAllStringSubmatch(string(data), -1) {
			names[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
