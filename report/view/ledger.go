package view

import (
	"fmt"
	"strings"

	"github.com/gofil/gofil/internal/units"
	"github.com/gofil/gofil/report/summary"
)

// LedgerPart is one part of a ledger of the resident set, in the order
// the ledger adds them up.
type LedgerPart struct {
	// Key names the part as summary.json does; Label and What say it.
	Key, Label, What string
	// Bytes is the part; Subtracted says it is taken away (never
	// resident), not added.
	Bytes      int64
	Subtracted bool
}

// LedgerParts are the parts of l that are not zero: the Go runtime's,
// less what of them was never resident, then what lies outside it, and
// the remainder when there is one.
func LedgerParts(l *summary.Ledger) []LedgerPart {
	if l == nil {
		return nil
	}
	all := []LedgerPart{
		{"heap_live_bytes", "live", "heap objects reachable at the peak's GC", int64(l.HeapLiveBytes), false},
		{"heap_garbage_bytes", "garbage", "heap objects awaiting the collector", int64(l.HeapGarbageBytes), false},
		{"heap_not_known_bytes", "not known", "heap objects allocated after the program's last GC", int64(l.HeapNotKnownBytes), false},
		{"tracker_bytes", "gofil's tracker", "heap objects of gofil's tracker", int64(l.TrackerBytes), false},
		{"heap_unused_bytes", "unused in spans", "heap spans' room no object fills (fragmentation)", int64(l.HeapUnusedBytes), false},
		{"heap_free_bytes", "free heap", "free heap pages the runtime keeps, not returned to the system", int64(l.HeapFreeBytes), false},
		{"stacks_bytes", "stacks", "goroutine and thread stacks", int64(l.StacksBytes), false},
		{"runtime_bytes", "runtime", "the runtime's own structures: GC metadata, spans, caches", int64(l.RuntimeBytes), false},
		{"profiling_bytes", "heap profile", "the heap profile's records, as many as gofil's sampling rate makes", int64(l.ProfilingBytes), false},
		{"not_resident_bytes", "never resident", "counted above, but pages the kernel never made resident", l.NotResidentBytes, true},
		{"outside_go_bytes", "outside Go", "anonymous memory outside the Go runtime: cgo, mmap", int64(l.OutsideGoBytes), false},
		{"files_bytes", "binary and files", "memory backed by files: the executable, shared libraries, mapped files", int64(l.FilesBytes), false},
		{"remainder_bytes", "remainder", "what the readings leave unexplained", l.RemainderBytes, false},
	}
	var parts []LedgerPart
	for _, p := range all {
		if p.Bytes == 0 {
			continue
		}
		if p.Bytes < 0 { // shown as the opposite operation
			p.Bytes, p.Subtracted = -p.Bytes, !p.Subtracted
		}
		parts = append(parts, p)
	}
	return parts
}

// LedgerLine is the ledger in one line: the resident set, then its parts
// with the sign they carry.
func LedgerLine(l *summary.Ledger) string {
	parts := LedgerParts(l)
	if len(parts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "resident %s at %.2fs =", units.Bytes(int64(l.RSSBytes)), l.AtSeconds)
	for i, p := range parts {
		switch {
		case p.Subtracted:
			b.WriteString(" −")
		case i > 0:
			b.WriteString(" +")
		}
		fmt.Fprintf(&b, " %s %s", p.Label, units.Bytes(p.Bytes))
	}
	if !l.ResidentKnown {
		b.WriteString(" (the mappings were not read: memory outside Go is in the remainder)")
	}
	return b.String()
}
