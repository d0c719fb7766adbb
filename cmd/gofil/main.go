// Command gofil finds the moment a Go program used the most memory and the
// lines of code that held it. See the README.
package main

import (
	"context"
	"os"

	"github.com/gofil/gofil/cmd/gofil/internal/cli"
	"github.com/gofil/gofil/cmd/gofil/internal/privtmp"
)

func main() {
	privtmp.Restore()
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
