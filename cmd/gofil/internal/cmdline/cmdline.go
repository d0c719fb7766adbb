// Package cmdline parses gofil's command lines beyond what package flag does.
package cmdline

import "flag"

// Interleaved parses args with fs, letting positional arguments stand
// before, between or after the flags ("gofil watch URL --interval 1s"),
// and returns the positional arguments in order.
func Interleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
