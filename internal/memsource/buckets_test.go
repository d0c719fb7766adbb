//go:build go1.23 && gofil_linkname

package memsource

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/gofil/gofil/peak"
)

var bucketSink [][]byte

//go:noinline
func allocA(n int) { bucketSink = append(bucketSink, make([]byte, n)) }

//go:noinline
func allocB(n int) { bucketSink = append(bucketSink, make([]byte, n)) }

// TestBucketReader fails when runtime.memProfileInternal no longer reads as
// buckets_go123.go expects: the bucket reader must give, record for
// record, what runtime.MemProfile gives, on a first read and on a later
// one with new buckets among known ones.
func TestBucketReader(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()

	tab := &peak.Table{}
	br := newBucketReader(tab)
	for round := 0; round < 3; round++ {
		for i := 0; i < 50; i++ {
			allocA(1000 + round*100 + i%5)
			if i%3 == 0 {
				allocB(5000 + round)
			}
		}
		bucketSink = bucketSink[:len(bucketSink)/2]
		runtime.GC()
		runtime.GC()
		got, want, ok := readBoth(t, br, tab)
		if !ok {
			t.Fatalf("round %d: no consistent pair of reads", round)
		}
		if len(got) != len(want) {
			t.Errorf("round %d: the bucket reader gave %d records, runtime.MemProfile %d", round, len(got), len(want))
		}
		for k, w := range want {
			if g := got[k]; g != w {
				t.Errorf("round %d: record %s: bucket reader %v, runtime.MemProfile %v", round, k, g, w)
			}
		}
	}
}

// readBoth reads the profile with br and with runtime.MemProfile within
// one GC cycle, each as counts by stack and size.
func readBoth(t *testing.T, br *bucketReader, tab *peak.Table) (got, want map[string][2]int64, ok bool) {
	t.Helper()
	cycles := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	for try := 0; try < 10; try++ {
		metrics.Read(cycles)
		before := cycles[0].Value.Uint64()
		n, _ := runtime.MemProfile(nil, true)
		rs := make([]runtime.MemProfileRecord, n+100)
		n, ok := runtime.MemProfile(rs, true)
		if !ok {
			continue
		}
		var c *peak.Counts
		for i := 0; i < 5 && c == nil; i++ {
			c, _ = br.read()
			if br.failed() {
				t.Fatal("the bucket reader found the runtime's buckets not as it expects")
			}
		}
		if c == nil {
			t.Fatal("the bucket reader did not read")
		}
		br.commit(c)
		metrics.Read(cycles)
		if cycles[0].Value.Uint64() != before {
			continue
		}
		want = map[string][2]int64{}
		for _, r := range rs[:n] {
			if r.AllocObjects == 0 && r.FreeObjects == 0 {
				continue
			}
			size := r.AllocBytes / max(r.AllocObjects, 1)
			if r.AllocObjects == 0 {
				size = r.FreeBytes / r.FreeObjects
			}
			k := fmt.Sprint(r.Stack(), size)
			v := want[k]
			want[k] = [2]int64{v[0] + r.AllocObjects, v[1] + r.FreeObjects}
		}
		got = map[string][2]int64{}
		peak.Snapshot{Counts: c}.Each(tab, func(stack uint32, size, allocs, frees int64) {
			k := fmt.Sprint(tab.PCs(stack), size)
			v := got[k]
			got[k] = [2]int64{v[0] + allocs, v[1] + frees}
		})
		return got, want, true
	}
	return nil, nil, false
}
