package memtest_test

import (
	"testing"

	"github.com/gofil/gofil/memtest"
)

func buildIndex() map[string][]int {
	index := map[string][]int{}
	for i := 0; i < 1000; i++ {
		index[string(rune('a'+i%26))] = append(index[string(rune('a'+i%26))], i)
	}
	return index
}

// A test that may grow the heap by 64 MiB at most and must leave less
// than 1 MiB behind, not counting what a cache keeps on purpose.
func ExampleLimitPeak() {
	test := func(t *testing.T) {
		memtest.LimitRetained(t, 1<<20, memtest.IgnoreFunction("example.com/cache.(*LRU).Add"))
		memtest.LimitPeak(t, 64<<20)
		buildIndex()
	}
	_ = test
}
