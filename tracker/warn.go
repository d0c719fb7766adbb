package tracker

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/gofil/gofil/internal/raw"
)

// reports is where the tracker says what went wrong: the pipe gofil gave
// it, so that gofil says it on its own stderr, not in the program's; the
// program's stderr only when it runs without gofil's runner.
var reports struct {
	sync.Mutex
	f *os.File
}

// openReports takes the descriptor gofil named in the environment, if any,
// and keeps it from the program's own children.
func openReports() {
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
	syscall.CloseOnExec(fd)
	reports.Lock()
	reports.f = os.NewFile(uintptr(fd), "gofil reports")
	reports.Unlock()
}

// warn reports one line.
func warn(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	reports.Lock()
	defer reports.Unlock()
	if reports.f != nil {
		if _, err := reports.f.WriteString(msg + "\n"); err == nil {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "gofil: %s\n", msg)
}
