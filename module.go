package gofil

import _ "embed"

// GoMod and GoSum are gofil's own go.mod and go.sum: the module file of
// the Graphviz helper, which gofil builds with the go command on first use,
// is made from them, so that it is built from exactly the versions gofil
// was.
var (
	//go:embed go.mod
	GoMod []byte
	//go:embed go.sum
	GoSum []byte
)
