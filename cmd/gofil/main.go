// Command gofil finds the moment a Go program used the most memory and the
// lines of code that held it. See the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gofil/gofil/cmd/gofil/internal/cli"
	"github.com/gofil/gofil/cmd/gofil/internal/runner"
)

func main() {
	runner.OwnTraces()
	// Before gofil opens anything: the descriptors it was started with,
	// which the program is given at the same numbers.
	ctx := runner.WithInherited(context.Background(), runner.Inherit())
	// A write to a closed pipe (gofil run ... | head) fails with EPIPE
	// rather than killing gofil before it has cleaned up and passed the
	// program's exit code on. Caught, not ignored: the program starts with
	// SIGPIPE as gofil was started, and as without gofil.
	if !signal.Ignored(syscall.SIGPIPE) {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	}
	os.Exit(cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
