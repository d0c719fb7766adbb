package summary

import (
	"time"

	"github.com/gofil/gofil/internal/raw"
)

// Ledger is the process's resident memory at a moment, divided so that
// the parts add up to it:
//
//	rss = heap_live + heap_garbage (or heap_not_known) + tracker + heap_unused + heap_free
//	      + stacks + runtime + profiling − not_resident + outside_go + files + remainder
//
// The Go runtime's parts are its own memory classes (runtime/metrics
// /memory/classes/...), exact at the moment. What the runtime counts is
// not all resident: pages it mapped but nobody touched (a large slice only
// partly written, free heap never used) cost address space, not memory.
// not_resident is that part, from the resident pages of the heap's own
// mappings (mincore(2) over the arenas /proc/self/maps shows). The
// kernel's own counts (/proc/self/statm) give the rest: anonymous memory
// outside the heap, of which what the runtime does not count is outside
// it (cgo's malloc, mmap), and memory backed by files (the executable,
// shared libraries, mapped files). remainder is what the two readings
// leave unexplained, chiefly growth between them; it is never forced to
// zero.
type Ledger struct {
	AtSeconds float64 `json:"at_seconds"`
	RSSBytes  uint64  `json:"rss_bytes"`
	// HeapLiveBytes and HeapGarbageBytes divide the heap's objects as the
	// peak's figures do: reachable at the peak's GC, and garbage awaiting
	// collection.
	HeapLiveBytes    uint64 `json:"heap_live_bytes"`
	HeapGarbageBytes uint64 `json:"heap_garbage_bytes"`
	// HeapNotKnownBytes replaces HeapGarbageBytes when the peak is the
	// program's end (peak.live_from_gc): what was allocated after its last
	// GC, not known to be live or garbage.
	HeapNotKnownBytes uint64 `json:"heap_not_known_bytes,omitempty"`
	// TrackerBytes is the heap's objects that are gofil's tracker's
	// (peak.tracker_bytes), taken out of the heap's other parts.
	TrackerBytes uint64 `json:"tracker_bytes"`
	// HeapUnusedBytes is the part of the heap's spans that holds no object
	// (fragmentation); HeapFreeBytes the heap's free pages the runtime has
	// not returned to the system.
	HeapUnusedBytes uint64 `json:"heap_unused_bytes"`
	HeapFreeBytes   uint64 `json:"heap_free_bytes"`
	// StacksBytes is goroutine stacks, and the stacks the system gave the
	// runtime's threads.
	StacksBytes uint64 `json:"stacks_bytes"`
	// RuntimeBytes is the runtime's own structures (GC metadata, spans,
	// caches); ProfilingBytes the heap profile's records, which gofil's
	// sampling rate makes: about one per sampled allocation site and size,
	// more at a finer --rate.
	RuntimeBytes   uint64 `json:"runtime_bytes"`
	ProfilingBytes uint64 `json:"profiling_bytes"`
	// NotResidentBytes is what the runtime counts above that the kernel
	// has not made resident: pages never touched. It is subtracted;
	// negative, pages the runtime counts as returned were still resident.
	NotResidentBytes int64 `json:"not_resident_bytes"`
	// OutsideGoBytes is anonymous memory outside the Go runtime: cgo's
	// malloc, mmap, C threads' stacks, the binary's zero-filled data.
	OutsideGoBytes uint64 `json:"outside_go_bytes"`
	// FilesBytes is resident memory backed by files: the executable,
	// shared libraries, mapped files, shared memory.
	FilesBytes uint64 `json:"files_bytes"`
	// RemainderBytes is rss less the sum of the parts.
	RemainderBytes int64 `json:"remainder_bytes"`
	// ResidentKnown says the heap's resident pages were read; without
	// them (no /proc/PID/maps or mincore) not_resident, outside_go and
	// files are 0 and their sum is in the remainder. ResidentAtSeconds is
	// when they were read: they are read as memory grows, so at or before
	// at_seconds.
	ResidentKnown     bool    `json:"resident_known"`
	ResidentAtSeconds float64 `json:"resident_at_seconds"`
}

// ledgerOf divides the memory of the reading l; live is how much of the
// heap's objects the peak's GC found reachable, notKnown says the rest is
// not known to be garbage (the peak is the program's end), and tracker is
// the tracker's own heap.
func ledgerOf(l *raw.Ledger, live uint64, notKnown bool, tracker uint64) *Ledger {
	if l == nil || l.RSSBytes == 0 {
		return nil
	}
	objects := l.HeapObjectsBytes
	tracker = min(tracker, objects)
	live = min(live, objects-tracker)
	g := &Ledger{
		AtSeconds:        time.Duration(l.AtNS).Seconds(),
		RSSBytes:         l.RSSBytes,
		HeapLiveBytes:    live,
		HeapGarbageBytes: objects - tracker - live,
		TrackerBytes:     tracker,
		HeapUnusedBytes:  l.HeapUnusedBytes,
		HeapFreeBytes:    l.HeapFreeBytes,
		StacksBytes:      l.HeapStacksBytes + l.OSStacksBytes,
		RuntimeBytes:     l.MetadataBytes,
		ProfilingBytes:   l.ProfilingBytes,
	}
	if notKnown {
		g.HeapNotKnownBytes, g.HeapGarbageBytes = g.HeapGarbageBytes, 0
	}
	if l.ResidentTotalBytes > 0 {
		g.ResidentKnown = true
		g.ResidentAtSeconds = time.Duration(l.ResidentAtNS).Seconds()
		// The heap's arenas hold its objects, free and unused pages and
		// the goroutine stacks it gave; everything else the runtime
		// counts is in other anonymous memory, with memory outside it.
		// The two cannot be told apart: the runtime's part is taken as
		// resident up to what there is.
		inArenas := l.HeapObjectsBytes + l.HeapFreeBytes + l.HeapUnusedBytes + l.HeapStacksBytes
		elsewhere := l.OSStacksBytes + l.MetadataBytes + l.ProfilingBytes
		runtimeResident := min(elsewhere, l.ResidentAnonBytes)
		g.NotResidentBytes = int64(inArenas) - int64(l.ResidentHeapBytes) + int64(elsewhere-runtimeResident)
		g.OutsideGoBytes = l.ResidentAnonBytes - runtimeResident
		g.FilesBytes = l.ResidentFilesBytes
	}
	g.RemainderBytes = int64(g.RSSBytes) - g.sum()
	return g
}

// sum is the parts' sum, remainder aside.
func (g *Ledger) sum() int64 {
	counted := int64(g.HeapLiveBytes + g.HeapGarbageBytes + g.HeapNotKnownBytes + g.TrackerBytes +
		g.HeapUnusedBytes + g.HeapFreeBytes + g.StacksBytes + g.RuntimeBytes + g.ProfilingBytes)
	return counted - g.NotResidentBytes + int64(g.OutsideGoBytes+g.FilesBytes)
}
