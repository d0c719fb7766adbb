// Package tell is where gofil's tracker says what went wrong, inside the
// profiled program: gofil's pipe under gofil run, else the program's
// stderr. It is compiled into the program, standard library only.
package tell

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/gofil/gofil/internal/ownfd"
	"github.com/gofil/gofil/internal/raw"
)

// reports is where the tracker says what went wrong: the pipe gofil gave
// it, so that gofil says it on its own stderr, not in the program's; the
// program's stderr when it runs without gofil's runner, or closed the
// pipe.
var reports struct {
	sync.Mutex
	f *ownfd.File
	// once says the program runs without gofil (a production run): its
	// stderr gets the tracker's first line and no other, so that a full
	// or read-only disk costs the program's log one line, not one per
	// write. said says that line was written.
	once, said bool
}

// Open takes the descriptor gofil named in the environment, if any:
// it moves to a number of the tracker's own, kept from the program's
// children, and the number gofil passed it at is free again for the
// program, as without gofil. A line is written to it only while it is
// still gofil's pipe (ownfd): a program that closes that number and opens
// a file of its own there must not find the tracker's lines in it.
func Open() {
	s := os.Getenv(raw.EnvReportFD)
	os.Unsetenv(raw.EnvReportFD)
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 3 {
		return
	}
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return // not the pipe gofil passed
	}
	f, err := ownfd.Take(fd)
	if err != nil {
		return
	}
	reports.Lock()
	reports.f = f
	reports.Unlock()
}

// Warn reports one line; in a production run, only the first.
func Warn(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	reports.Lock()
	defer reports.Unlock()
	if reports.f != nil {
		if _, err := reports.f.WriteString(msg + "\n"); err == nil {
			return
		}
	}
	if reports.once {
		if reports.said {
			return
		}
		reports.said = true
		msg += " (the tracker says nothing more)"
	}
	fmt.Fprintf(os.Stderr, "gofil: %s\n", msg)
}

// Once makes Warn say only its first line on the program's stderr.
func Once() {
	reports.Lock()
	reports.once = true
	reports.Unlock()
}
