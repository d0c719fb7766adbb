package heap

import (
	"testing"

	"github.com/gofil/gofil/internal/raw"
)

func TestOwnFunc(t *testing.T) {
	o := Own{Module: "github.com/itchyny/gojq", Packages: []string{"example.com/lib"}}
	for fn, want := range map[string]bool{
		"main.main": true,
		"github.com/itchyny/gojq/cli.(*inputs).Next": true,
		"github.com/itchyny/gojq.(*env).Next":        true,
		"github.com/itchyny/gojqx.F":                 false,
		"encoding/json.(*decodeState).object":        false,
		"example.com/lib/sub.F":                      true,
		"runtime.mallocgc":                           false,
	} {
		if got := o.Func(fn); got != want {
			t.Errorf("Own.Func(%q) = %v, want %v", fn, got, want)
		}
	}
}

// TestOwnSites: bytes allocated by a library under two lines of the
// program's own code are grouped by those lines, each naming the library
// site below it; a site in the library names the own line that holds most
// of it; a stack with no own frame is left out of OwnSites.
func TestOwnSites(t *testing.T) {
	fr := func(fn string, line int) Frame { return Frame{Func: fn, File: fn + ".go", Line: line} }
	h := &Heap{Raw: raw.Profile{Rate: 1}, Stacks: []Stack{
		{Frames: []Frame{fr("main.main", 1), fr("main.load", 10), fr("encoding/json.Unmarshal", 5), fr("runtime.mallocgc", 1)}, Bytes: 600, Objects: 6},
		{Frames: []Frame{fr("main.main", 2), fr("main.parse", 20), fr("encoding/json.Unmarshal", 5)}, Bytes: 300, Objects: 3},
		{Frames: []Frame{fr("main.main", 3), fr("main.keep", 30)}, Bytes: 200, Objects: 2},
		{Frames: []Frame{fr("runtime.main", 1), fr("sync.init", 7)}, Bytes: 50, Objects: 1},
	}}
	h.Bytes = 1150
	own := h.OwnSites(Own{})
	if len(own) != 3 || own[0].Function != "main.load" || own[0].Bytes != 600 || own[0].SiteFunction != "encoding/json.Unmarshal" ||
		own[1].Function != "main.parse" || own[1].Bytes != 300 || own[2].Function != "main.keep" || own[2].SiteFunction != "" {
		t.Errorf("OwnSites = %+v", own)
	}
	sites := h.Sites()
	h.NameOwn(sites, Own{})
	for _, s := range sites {
		want := map[string]string{"encoding/json.Unmarshal": "main.load", "main.keep": "", "sync.init": ""}[s.Function]
		if s.OwnFunction != want {
			t.Errorf("site %s: own frame %q, want %q", s.Function, s.OwnFunction, want)
		}
	}
}
