// Package memtests holds tests of known memory use, for gofil test's
// end-to-end tests.
package memtests
