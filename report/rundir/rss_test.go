package rundir

import (
	"strings"
	"testing"
	"time"
)

func TestParseRSS(t *testing.T) {
	got, err := ParseRSS(strings.NewReader("# t_ms\trss_bytes\n0\t1024\n12.5\t2048\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].At != 12500*time.Microsecond || got[1].RSS != 2048 {
		t.Errorf("ParseRSS = %+v", got)
	}
	for _, bad := range []string{"NaN\t1\n", "+Inf\t1\n", "-1\t1\n", "1\t-5\n", "1\n"} {
		if _, err := ParseRSS(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseRSS(%q) gave no error", bad)
		}
	}
}
