package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gofil/gofil/cmd/gofil/internal/gotest"
	"github.com/gofil/gofil/cmd/gofil/internal/runner"
)

// testCommand is `gofil test`: package gotest runs the tests.
func testCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := gotest.Parse(args)
	if err != nil {
		return fail(exitBadInput, "%v (see 'gofil help test')", err)
	}
	c := f.Config
	rate := uint64(DefaultRate)
	if f.Rate != "" {
		if rate, err = parseRate(f.Rate); err != nil {
			return fail(exitBadInput, "%v", err)
		}
	}
	if f.Tags != "" {
		c.BuildFlags = append(c.BuildFlags, "-tags="+f.Tags)
	}
	if c.Dir, err = os.Getwd(); err != nil {
		return fail(exitBadInput, "%v", err)
	}
	if c.CacheDir, err = buildCache(); err != nil {
		return fail(exitBadInput, "%v", err)
	}
	c.Out = f.Out
	if c.Out == "" {
		c.Out = defaultOutDir("test-"+programName(strings.TrimSuffix(c.Patterns[0], "/...")), time.Now())
	}
	if _, err := makeOutDir(c.Out); err != nil {
		return fail(exitBadInput, "-o %s: %v", c.Out, err)
	}
	userG, userSet := runner.UserGODEBUG()
	os.Unsetenv(runner.EnvProgramGODEBUG)
	c.Env = gotest.Env(godebug(userG, rate), userG, userSet)
	c.Stdout, c.Stderr = stdout, stderr
	var tf *gotest.Failure
	if err := gotest.Run(ctx, c); errors.As(err, &tf) && tf.BadInput {
		return fail(exitBadInput, "%s", tf.Msg)
	} else if err != nil {
		return fail(exitFailed, "%v", err)
	}
	return nil
}
