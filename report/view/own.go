package view

import "github.com/gofil/gofil/report/summary"

// ownShownAmong is how many of the largest sites, as stderr prints them,
// are looked at for lines of the program's own elsewhere.
const ownShownAmong = 10

// OwnTopShown reports whether the page and stderr list the heap by the
// program's own lines (own_top): when one of the first ownShownAmong sites
// was allocated under a line of the program's own other than the site
// itself. Else the list would repeat the sites'.
func OwnTopShown(s *summary.Summary) bool {
	if len(s.OwnTop) == 0 {
		return false
	}
	for _, site := range s.Top[:min(len(s.Top), ownShownAmong)] {
		if site.OwnFunction != "" {
			return true
		}
	}
	return false
}
