package main

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestStartsLight: every gofil command pays for the initialisation of
// every package gofil links, before main; none of gofil's own packages
// does more there than a few small tables (a regular expression compiled
// at init took 1.3 MB and some tens of milliseconds at every start). The
// runtime's GODEBUG=inittrace=1 says what each package's init allocated.
func TestStartsLight(t *testing.T) {
	const most = 256 << 10
	cmd := exec.Command(gofilBin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gofil version: %v\n%s", err, out)
	}
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		// init PKG @T ms, C ms clock, B bytes, A allocs
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		if !strings.HasPrefix(f[1], "github.com/gofil/gofil") {
			continue
		}
		seen++
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if n > most {
			t.Errorf("%s's init allocates %d bytes at every start of gofil (%s ms of clock), more than %d", f[1], n, f[4], most)
		}
	}
	if seen == 0 {
		t.Fatalf("no init of gofil's packages traced:\n%s", out)
	}
}
