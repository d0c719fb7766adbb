package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofil/gofil/report/rundir"
	"github.com/gofil/gofil/report/summary"
)

// TestLedger holds gofil's ledger of the resident set at the peak to
// programs whose parts are known (their comments say why): fragmentation,
// goroutine stacks, an anonymous mapping, heap pages never touched, and
// C's malloc. Each part is within 5% of its truth (what the runtime itself
// holds besides is well under that), and the parts add up to the
// resident set within 2%.
func TestLedger(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	t.Run("go", func(t *testing.T) {
		t.Parallel()
		r := gofil(t, testdata(t, "ledger"), "run", "-o", t.TempDir(), ".")
		if r.code != 0 {
			t.Fatalf("exit code %d\n%s", r.code, r.stderr)
		}
		var kept, mapped, untouched, size, more int64
		if _, err := fmt.Sscanf(r.stdout, "ledger: %d objects kept, %d bytes mapped, %d bytes of %d never resident, %d more",
			&kept, &mapped, &untouched, &size, &more); err != nil {
			t.Fatalf("program's output %q: %v", r.stdout, err)
		}
		l := ledgerOf(t, r)
		checkPart(t, "heap_unused", l.HeapUnusedBytes, 120*mib)
		checkPart(t, "stacks", l.StacksBytes, 1024*64<<10)
		checkPart(t, "outside_go", l.OutsideGoBytes, mapped)
		checkPart(t, "not_resident", l.NotResidentBytes, untouched)
		// The timeline draws the runtime's memory beyond its objects: at
		// its largest up to the ledger's moment, the ledger's parts of it.
		// (After it, the end's GCs free the program's data and the heap's
		// free pages grow by it until the runtime returns them.)
		run, err := rundir.Load(filepath.Join(r.dir, "raw"))
		if err != nil {
			t.Fatal(err)
		}
		var beyond uint64
		at := time.Duration(l.AtSeconds*float64(time.Second)) + 50*time.Millisecond
		for _, p := range run.Timeline {
			if p.At <= at {
				beyond = max(beyond, p.Beyond())
			}
		}
		checkPart(t, "timeline's runtime beyond objects", beyond, int64(l.HeapUnusedBytes+l.HeapFreeBytes+l.StacksBytes+l.RuntimeBytes))
		if untouched < 300*mib {
			t.Logf("the sparse slice was cleared by the runtime: %d of %d bytes never resident", untouched, size)
		}
	})
	t.Run("cgo", func(t *testing.T) {
		t.Parallel()
		r := gofil(t, testdata(t, "ledgercgo"), "run", "-o", t.TempDir(), ".")
		if r.code != 0 {
			t.Fatalf("exit code %d\n%s", r.code, r.stderr)
		}
		var c, g int64
		if _, err := fmt.Sscanf(r.stdout, "ledgercgo: %d bytes from C, %d in the Go heap", &c, &g); err != nil {
			t.Fatalf("program's output %q: %v", r.stdout, err)
		}
		l := ledgerOf(t, r)
		checkPart(t, "outside_go", l.OutsideGoBytes, c)
		checkPart(t, "heap objects", l.HeapLiveBytes+l.HeapGarbageBytes, g)
	})
}

// ledgerOf is the ledger at the peak of r's report, whose parts must add
// up to its resident set within 2%.
func ledgerOf(t *testing.T, r result) *summary.Ledger {
	t.Helper()
	if r.summary == nil || r.summary.Peak == nil || r.summary.Peak.Ledger == nil {
		t.Fatalf("no ledger at the peak\n%s", r.stderr)
	}
	l := r.summary.Peak.Ledger
	if !l.ResidentKnown {
		t.Fatalf("the mappings were not read: %+v", l)
	}
	if d := l.RemainderBytes; d > int64(l.RSSBytes)/50 || -d > int64(l.RSSBytes)/50 {
		t.Errorf("the parts leave %d bytes of the resident set %d unexplained: %+v", d, l.RSSBytes, l)
	}
	return l
}

// checkPart fails unless a ledger's part is within 5% of its truth.
func checkPart[T int64 | uint64](t *testing.T, name string, got T, truth int64) {
	t.Helper()
	if !within(int64(got), truth, 0.05) {
		t.Errorf("%s: %d bytes, truth %d (%+.1f%%)", name, int64(got), truth, 100*float64(int64(got)-truth)/float64(truth))
	}
}
