// Package memtest fails a test whose heap grows over a budget, or that
// leaves too much of it reachable, and says where the memory went. It
// works under plain go test, with the standard library alone.
//
//	func TestBuildIndex(t *testing.T) {
//		memtest.LimitRetained(t, 1<<20) // keep less than 1 MiB once done (call it first)
//		memtest.LimitPeak(t, 64<<20)    // grow the heap by 64 MiB at most
//		buildIndex()
//	}
//
// A failure is one error with the figure, the limit and the largest
// allocation sites, each with its function, file and line:
//
//	memtest: LimitPeak: peak heap 192.0 MiB is over the limit of 64.0 MiB
//	  (the largest heap at a GC mark while the test ran, less the 1.9 MiB live when LimitPeak was called; GC percent 5, 37 GCs, 0 missed)
//	  allocation sites at the peak, sampled (one sample per 4.0 KiB allocated on average):
//	   105.0 MiB   54.7%  example.com/index.buildIndex  index.go:67
//	    87.0 MiB   45.3%  example.com/index.(*Table).grow  table.go:112
//
// # The peak
//
// The first call in a test opens its scope: it sets the GC percent to 5
// (debug.SetGCPercent; GCPercent changes it) and runtime.MemProfileRate
// to 4096, runs a GC, and notes the live heap. The test's cleanup closes
// the scope and restores both. The GOGC the environment sets does not
// count within a scope.
//
// The peak is the largest heap at a GC mark while the scope was open,
// less the live heap when it opened. The heap at a mark is all the bytes
// in heap objects when the mark ended: what it found live, and the
// garbage its sweep then freed. It is the middle figure of the lines
// GODEBUG=gctrace=1 prints ("A->B->C MB"). Every allocation is in the
// heap at the next mark, dead or not, so a 100 MiB buffer allocated and
// dropped at once counts 100 MiB; a test that keeps its data in between
// two marks counts it at the later one. The heap in objects can be
// larger between marks, by garbage the sweeper has not freed yet: that
// depends on when the sweeper ran, and does not count.
//
// The live heap of each mark is exact (runtime/metrics,
// /gc/heap/live:bytes); the garbage its sweep freed comes from the heap
// profile's frees, which the runtime publishes one cycle later, sampled
// and unbiased as runtime/pprof does. For the scope's last GC, forced
// when it closes, the garbage is exact (/gc/heap/frees:bytes). A
// goroutine observes every cycle, woken by a finalizer after each mark
// and every millisecond; a cycle it misses (the next one ended before it
// looked) gives its live heap alone, and the failure says how many it
// missed.
//
// Why the figure is stable: the collector's pace within the scope is the
// scope's own, whatever GOGC says; at GC percent 5 a mark comes every
// time the heap grows by a twentieth of the live heap (or 200 KiB), so the
// garbage in the heap at a mark is about that at most, and data a test
// holds at its peak counts whenever the marks fall. What still moves is
// what a test allocates during a mark, which counts at that mark (live or
// not) and which the collector does not always hold back: a test that
// holds what it allocates, with small garbage along the way, moves by a
// few percent from run to run; one that drops a large heap and goes on
// allocating large buffers, or that grows structures many times over,
// by up to about 12%.
//
// # What is retained
//
// What is retained is the live heap after the test and its cleanups,
// after two GCs (the second frees what finalizers and sync.Pool's victim
// cache kept through the first), less the live heap when the scope
// opened: exact, from runtime/metrics. Cleanups run last registered
// first, so those registered before the call run after the measurement:
// call LimitRetained first.
//
// # Where it went
//
// The sites are the first frame outside the runtime of each sampled
// stack; with runtime.MemProfileRate at 4096 the heap profile samples an
// allocation per 4 KiB on average, and a site's bytes are an estimate:
// within a few percent for a site holding a few MiB in small objects,
// nearly exact for objects of 64 KiB or more. At the peak, a site holds
// what it allocated before the mark and the sweep before it had not
// freed, less what it held when the scope opened; of what is retained,
// what it holds after the last GC, less the same. Objects allocated
// before the scope were sampled at the program's rate, and each
// processor samples its first allocation after the scope opened at that
// rate too. The measurement's own memory (its copies of the heap profile)
// does not count.
//
// IgnoreFunction leaves out the stacks through a function, estimated from
// the samples: a cache or pool a test fills on purpose.
//
// With go test -artifacts (Go 1.26 on), the heap profile of the peak, or
// of what was retained, is written in pprof format to the test's
// artifact directory as memtest-peak.pb.gz or memtest-retained.pb.gz:
// what each stack held less what it held when the scope opened (go tool
// pprof -sample_index=inuse_space).
//
// # Parallel tests
//
// The heap is one per process, and a scope counts everything in it. Two
// scopes cannot be open at once: the second call fails its test at once
// ("memtest: LimitPeak cannot measure while another test (TestA)
// measures; run without t.Parallel") and the first test fails when its
// scope closes, naming the second; neither gives a figure. A parallel
// test that does not call memtest cannot be seen: what it allocates
// while a scope is open counts in that scope's figures. Do not mark a
// measured test, or the tests of its package that run beside it,
// t.Parallel.
//
// # Cost
//
// Within a scope the collector runs about twenty times as often as at
// GOGC 100, and the heap profile walks a stack per 4 KiB allocated: a test
// that allocates much runs several times slower. Figures need Go 1.21's
// runtime metrics; on an older runtime LimitPeak and LimitRetained fail
// the test saying so.
package memtest
