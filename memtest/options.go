package memtest

// An Option changes how LimitPeak or LimitRetained measures.
type Option interface {
	apply(*config)
}

type config struct {
	ignore    []string
	gcPercent int
	top       int
}

// defaultGCPercent is the GC percent while a scope is open: the heap in
// objects stays within about 5% of the live heap.
const defaultGCPercent = 5

func newConfig(opts []Option) config {
	c := config{gcPercent: defaultGCPercent, top: 10}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// IgnoreFunction leaves out of the figure and of the listed sites what
// was allocated by stacks that pass through the function named fn
// (fully qualified, as in a stack trace: "example.com/cache.(*LRU).Add").
// The bytes are taken from the sampled heap profile, and so are an
// estimate. Use it for caches and pools that a test fills on purpose.
//
//	memtest.LimitRetained(t, 1<<20, memtest.IgnoreFunction("example.com/cache.(*LRU).Add"))
func IgnoreFunction(fn string) Option {
	return optionFunc(func(c *config) { c.ignore = append(c.ignore, fn) })
}

// GCPercent sets the GC percent (as debug.SetGCPercent) while the scope
// is open; 5 by default. A lower one keeps the heap closer to the live
// heap at the cost of more GC cycles. It counts only in the first call of
// a test, which opens the scope.
//
//	memtest.LimitPeak(t, 64<<20, memtest.GCPercent(5))
func GCPercent(p int) Option {
	return optionFunc(func(c *config) {
		if p > 0 {
			c.gcPercent = p
		}
	})
}

// Top sets how many allocation sites a failure lists; 10 by default.
//
//	memtest.LimitPeak(t, 64<<20, memtest.Top(3))
func Top(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.top = n
		}
	})
}
