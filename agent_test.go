package gofil

import (
	"io/fs"
	"path"
	"slices"
	"testing"
)

// TestAgentPackages: AgentPackages names exactly the packages AgentSource
// holds, which the report counts as the tracker's.
func TestAgentPackages(t *testing.T) {
	var dirs []string
	err := fs.WalkDir(AgentSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && path.Ext(p) == ".go" {
			if dir := AgentModule + "/" + path.Dir(p); !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	want := slices.Clone(AgentPackages)
	slices.Sort(want)
	if !slices.Equal(dirs, want) {
		t.Errorf("AgentSource holds %v, AgentPackages says %v", dirs, want)
	}
}
