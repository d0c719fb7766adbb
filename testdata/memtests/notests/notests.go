// Package notests has no tests: gofil test skips it.
package notests
