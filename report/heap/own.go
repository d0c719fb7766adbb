package heap

import (
	"strings"

	"github.com/gofil/gofil/flamegraph"
)

// Own says which functions are the program's own code, the lines a user can
// change: package main's, those of the packages under Module (the module of
// the program's main package, raw.Start.OwnModule) and those of Packages
// (path prefixes the user names).
type Own struct {
	Module   string
	Packages []string
}

// Func reports whether fn is the program's own.
func (o Own) Func(fn string) bool {
	pkg := flamegraph.PackagePath(fn)
	if pkg == "main" {
		return true
	}
	for _, p := range append([]string{o.Module}, o.Packages...) {
		if p != "" && (pkg == p || strings.HasPrefix(pkg, p+"/")) {
			return true
		}
	}
	return false
}

// ownFrame is the index of the innermost frame of s that is the program's
// own, -1 if none is.
func (o Own) ownFrame(s Stack) int {
	for i := len(s.Frames) - 1; i >= 0; i-- {
		if o.Func(s.Frames[i].Func) {
			return i
		}
	}
	return -1
}

// frameKey is a frame as a site names it.
type frameKey struct {
	fn, file string
	line     int
}

func keyOf(f Frame) frameKey { return frameKey{f.Func, f.File, f.Line} }

// largest is the key holding the most bytes in m.
func largest(m map[frameKey]int64) (frameKey, bool) {
	var best frameKey
	var most int64 = -1
	for k, b := range m {
		if b > most || b == most && (k.fn < best.fn || k.fn == best.fn && k.line < best.line) {
			best, most = k, b
		}
	}
	return best, most >= 0
}

// NameOwn sets, on each of sites (h.Sites()'s), the innermost frame of the
// program's own code its bytes were allocated from, when that is not the
// site itself: the one holding most of them, when several did.
func (h *Heap) NameOwn(sites []Site, o Own) {
	by := map[frameKey]map[frameKey]int64{}
	for _, s := range h.Stacks {
		if len(s.Frames) == 0 {
			continue
		}
		i := o.ownFrame(s)
		if i < 0 {
			continue
		}
		site := keyOf(s.Frames[s.Site()])
		if by[site] == nil {
			by[site] = map[frameKey]int64{}
		}
		by[site][keyOf(s.Frames[i])] += s.Bytes
	}
	for j := range sites {
		site := frameKey{sites[j].Function, sites[j].File, sites[j].Line}
		k, ok := largest(by[site])
		if ok && k != site {
			sites[j].OwnFunction, sites[j].OwnFile, sites[j].OwnLine = k.fn, k.file, k.line
		}
	}
}

// OwnSites groups h by the innermost frame of the program's own code in each
// stack, largest first: the line of the user's code that allocated, through
// whatever library. Each names the allocation site below it that holds the
// most of it (SiteFunction), when that is not the frame itself. Stacks with
// no frame of the program's own are left out: their sites are in Sites.
func (h *Heap) OwnSites(o Own) []Site {
	acc := map[frameKey]*Site{}
	below := map[frameKey]map[frameKey]int64{}
	for _, s := range h.Stacks {
		i := o.ownFrame(s)
		if i < 0 {
			continue
		}
		f := s.Frames[i]
		k := keyOf(f)
		site := acc[k]
		if site == nil {
			site = &Site{Function: f.Func, File: f.File, Line: f.Line}
			acc[k] = site
			below[k] = map[frameKey]int64{}
		}
		h.addTo(site, s)
		below[k][keyOf(s.Frames[s.Site()])] += s.Bytes
	}
	out := make([]Site, 0, len(acc))
	for k, s := range acc {
		s.Percent = percent(s.Bytes, h.Bytes)
		s.ErrorBytes = errorOf(s.variance)
		if b, ok := largest(below[k]); ok && b != k {
			s.SiteFunction, s.SiteFile, s.SiteLine = b.fn, b.file, b.line
		}
		out = append(out, *s)
	}
	sortSites(out)
	return out
}
