// Package notmain is a library, which gofil cannot run.
package notmain

// Answer is a constant.
const Answer = 42
