package tracker

import (
	"testing"
)

func TestParseThreshold(t *testing.T) {
	for s, want := range map[string]float64{"0.5": 0.5, "off": 0, "": 0.9, "1.5": 0.9, "x": 0.9, "NaN": 0.9} {
		if got := parseThreshold(s, 0.9); got != want {
			t.Errorf("parseThreshold(%q) = %v, want %v", s, got, want)
		}
	}
}
