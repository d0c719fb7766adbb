package memtest

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// bigSite allocates 8 MiB in 1 MiB blocks at the line it returns.
func bigSite() ([][]byte, int) {
	var held [][]byte
	_, _, line, _ := runtime.Caller(0)
	for i := 0; i < 8; i++ {
		held = append(held, make([]byte, mib)) // line+2
	}
	return held, line + 2
}

// TestOverBudgetMessage checks the failure of a test over its budget: one
// error naming the figure, the limit, and the site with its file and line.
func TestOverBudgetMessage(t *testing.T) {
	var line int
	f, res := measure(t, []kind{peakKind}, 4*mib, func() {
		var held [][]byte
		held, line = bigSite()
		runtime.KeepAlive(held)
	})
	if len(f.errors) != 1 {
		t.Fatalf("%d errors, want 1: %q", len(f.errors), f.errors)
	}
	msg := f.errors[0]
	t.Logf("the message:\n%s", msg)
	want := []string{
		"memtest: LimitPeak: peak heap 8.0 MiB is over the limit of 4.0 MiB",
		fmt.Sprintf("github.com/gofil/gofil/memtest.bigSite  message_test.go:%d", line),
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("the message lacks %q", w)
		}
	}
	site := regexp.MustCompile(`(?m)^\s+([\d.]+) MiB\s+([\d.]+)%\s+\S+bigSite\s`).FindStringSubmatch(msg)
	if site == nil {
		t.Fatalf("no line for bigSite in the message")
	}
	// The slice that holds the blocks grows at another line of bigSite.
	if pct, _ := strconv.ParseFloat(site[2], 64); site[1] != "8.0" || pct < 99 {
		t.Errorf("bigSite holds %s MiB, %s%%; want 8.0 MiB, 99%% or more", site[1], site[2])
	}
	if res[0].figure < 8*mib || res[0].figure > 8*mib+mib/4 {
		t.Errorf("figure %d, want 8 MiB (and at most 256 KiB more)", res[0].figure)
	}
}

func TestRetainedOverBudgetMessage(t *testing.T) {
	leaked = nil
	defer func() { leaked = nil }()
	f, _ := measure(t, []kind{retainedKind}, mib, func() { leak(4 * mib) })
	if len(f.errors) != 1 {
		t.Fatalf("%d errors, want 1: %q", len(f.errors), f.errors)
	}
	for _, w := range []string{"memtest: LimitRetained: retained heap 4.", "over the limit of 1.0 MiB", "memtest.leak  memtest_test.go:"} {
		if !strings.Contains(f.errors[0], w) {
			t.Errorf("the message lacks %q:\n%s", w, f.errors[0])
		}
	}
}

// TestIgnoreFunction leaves a leak through an ignored function out of the
// figure.
func TestIgnoreFunction(t *testing.T) {
	leaked = nil
	defer func() { leaked = nil }()
	f, res := measure(t, []kind{retainedKind}, mib, func() { leak(4 * mib) },
		IgnoreFunction("github.com/gofil/gofil/memtest.leak"))
	if len(f.errors) != 0 {
		t.Errorf("errors with the leak ignored: %q", f.errors)
	}
	if res[0].figure > mib/2 || res[0].ignored < 3*mib {
		t.Errorf("figure %d, ignored %d; want under 512 KiB and over 3 MiB", res[0].figure, res[0].ignored)
	}
}

// TestParallelScopes opens a scope while another is open: both tests
// fail, each saying why.
func TestParallelScopes(t *testing.T) {
	a, b := newFake(t, "TestA"), newFake(t, "TestB")
	LimitPeak(a, 1<<40)
	LimitRetained(b, 1<<40)
	if len(b.errors) != 1 || b.errors[0] != "memtest: LimitRetained cannot measure while another test (TestA) measures; run without t.Parallel" {
		t.Errorf("the second test's errors: %q", b.errors)
	}
	if len(b.cleanups) != 0 {
		t.Errorf("the second test has %d cleanups, want none", len(b.cleanups))
	}
	a.end()
	if len(a.errors) != 1 || !strings.Contains(a.errors[0], "LimitPeak did not measure TestA: other tests (TestB) called memtest while it measured") {
		t.Errorf("the first test's errors: %q", a.errors)
	}
	// The registry is free again.
	c := newFake(t, "TestC")
	LimitPeak(c, 1<<40)
	c.end()
	if len(c.errors) != 0 {
		t.Errorf("a later test's errors: %q", c.errors)
	}
}

// TestProfileEncodes checks the heap profile written for -artifacts:
// google/pprof parses it, and it holds bigSite's 8 MiB.
func TestProfileEncodes(t *testing.T) {
	_, res := measure(t, []kind{peakKind}, 1<<40, func() {
		held, _ := bigSite()
		runtime.KeepAlive(held)
	})
	data, err := encodeProfile(res[0].attr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	var site int64
	for _, s := range p.Sample {
		for _, l := range s.Location {
			for _, ln := range l.Line {
				if strings.HasSuffix(ln.Function.Name, "memtest.bigSite") {
					site += s.Value[1]
				}
			}
		}
	}
	// 8 MiB in blocks, and the slice that holds them.
	if site < 8*mib || site > 8*mib+64<<10 {
		t.Errorf("bigSite holds %d bytes in the profile, want 8 MiB and at most 64 KiB more", site)
	}
}

// smallSite allocates 2 MiB in 64 KiB blocks.
func smallSite() [][]byte {
	var held [][]byte
	for i := 0; i < 32; i++ {
		held = append(held, make([]byte, 64<<10))
	}
	return held
}

// TestTop lists one site of two, and sums up the other.
func TestTop(t *testing.T) {
	f, _ := measure(t, []kind{peakKind}, mib, func() {
		big, _ := bigSite()
		small := smallSite()
		runtime.KeepAlive(big)
		runtime.KeepAlive(small)
	}, Top(1))
	if len(f.errors) != 1 {
		t.Fatalf("%d errors, want 1: %q", len(f.errors), f.errors)
	}
	msg := f.errors[0]
	if !strings.Contains(msg, "memtest.bigSite") || strings.Contains(msg, "memtest.smallSite") {
		t.Errorf("the message should list bigSite alone:\n%s", msg)
	}
	if !regexp.MustCompile(`\n  and [12] more sites? holding 2\.\d MiB`).MatchString(msg) {
		t.Errorf("the message does not sum up the rest as about 2 MiB:\n%s", msg)
	}
}
