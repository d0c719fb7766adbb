//go:build !linux

package memsource

import "github.com/gofil/gofil/internal/procfs"

// residentPages is not known without mincore's Linux semantics.
func residentPages(procfs.Range, uint64, []byte) (uint64, bool) { return 0, false }
