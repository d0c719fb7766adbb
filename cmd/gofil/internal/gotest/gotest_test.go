package gotest

import (
	"bytes"
	"strings"
	"testing"
)

// TestCompare holds Compare to the threshold: 10% or 1 MiB, whichever is
// more; new tests and failed tests are not compared.
func TestCompare(t *testing.T) {
	const mib = 1 << 20
	base := Baseline{Version: 1, Tests: []BaselineEntry{
		{"p", "Big", 100 * mib}, {"p", "Small", 100 << 10}, {"p", "Failed", mib},
	}}
	rows := []Row{
		{Package: "p", Test: "Big", Peak: 110 * mib, Passed: true},       // exactly 10%: allowed
		{Package: "p", Test: "Small", Peak: 100<<10 + mib, Passed: true}, // +1000%, within the floor
		{Package: "p", Test: "New", Peak: 1000 * mib, Passed: true},      // not in the baseline
		{Package: "p", Test: "Failed", Peak: 50 * mib, Passed: false},    // said failed already
		{Package: "q", Test: "Big", Peak: 500 * mib, Passed: true},       // another package's
	}
	if g := Compare(base, rows, DefaultThreshold); len(g) != 0 {
		t.Fatalf("Compare = %+v, want none", g)
	}
	rows[0].Peak = 110*mib + 1
	rows[1].Peak = 100<<10 + mib + 1
	g := Compare(base, rows, DefaultThreshold)
	if len(g) != 2 || g[0].Test != "Big" || g[1].Test != "Small" {
		t.Fatalf("Compare = %+v, want Big and Small", g)
	}
	if line := g[0].Line(); line != "gofil test: p Big: peak 110.0 MiB, baseline 100.0 MiB: +10.0%" {
		t.Errorf("line %q", line)
	}
}

// TestTable: sorted by peak, largest first, sizes as gofil prints them,
// FAIL for a failed test.
func TestTable(t *testing.T) {
	rows := []Row{
		{Package: "p", Test: "A", Peak: 2048, Retained: -1024, Passed: true},
		{Package: "p", Test: "B", Peak: 3 << 20, Retained: 1 << 20, Passed: false},
	}
	sortRows(rows)
	var b bytes.Buffer
	WriteTable(&b, rows)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for i, want := range [][]string{{"3.0 MiB", "+1.0 MiB", "FAIL", "p B"}, {"2.0 KiB", "-1.0 KiB", "ok", "p A"}} {
		if f := strings.Fields(lines[2+i]); strings.Join(f, " ") != strings.Join(want, " ") {
			t.Errorf("line %d: %q, want the fields %q", i, lines[2+i], want)
		}
	}
}
