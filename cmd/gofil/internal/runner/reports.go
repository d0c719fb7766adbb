package runner

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/gofil/gofil/internal/raw"
)

// minReportFD is the least descriptor the child gets the report pipe on:
// past the low ones a program may expect free, and above every one the
// child inherits (see Inherit). The tracker moves it out of the program's
// way at once (ownfd).
const minReportFD = 10

// maxReports and maxReportLine bound what gofil keeps of the tracker's
// reports.
const (
	maxReports    = 100
	maxReportLine = 1024
)

// reportPipe reads the tracker's reports while the child runs.
type reportPipe struct {
	r, w *os.File
	done chan []string
	pid  chan int // the child's, once started
	// closedAt is when the pipe closed while the child still had its
	// files, zero if it did not; set before done is sent on.
	closedAt time.Time
}

func newReportPipe(cmd *exec.Cmd) (*reportPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	extra := cmd.ExtraFiles
	for len(extra) < minReportFD-3 {
		extra = append(extra, nil) // closed in the child
	}
	cmd.ExtraFiles = append(extra, w)
	cmd.Env = append(cmd.Env, raw.EnvReportFD+"="+strconv.Itoa(3+len(extra)))
	p := &reportPipe{r: r, w: w, done: make(chan []string, 1), pid: make(chan int, 1)}
	go func() {
		var lines []string
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), 64<<10)
		for sc.Scan() {
			if len(lines) < maxReports {
				line := sc.Text()
				if len(line) > maxReportLine {
					line = line[:maxReportLine] + "…"
				}
				lines = append(lines, line)
			}
		}
		if sc.Err() == nil && stillHasFiles(<-p.pid) {
			p.closedAt = time.Now()
		}
		p.done <- lines
	}()
	return p, nil
}

// started closes gofil's copy of the writing end, once the child, pid (0
// if it did not start), has its own.
func (p *reportPipe) started(pid int) {
	p.pid <- pid
	p.w.Close()
}

// stillHasFiles reports whether process pid has its table of open files:
// the tracker's pipe closed while the program went on, not by its end
// (the kernel lets go of a process's files before the pipe's writing end
// closes at its exit). The tracker holds the pipe close-on-exec: its image
// was replaced by exec, or the program closed the descriptor itself.
func stillHasFiles(pid int) bool {
	if pid <= 0 {
		return false
	}
	d, err := os.Open("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(1)
	return len(names) > 0
}

// closedWhileRunning is closedAt, once lines has returned.
func (p *reportPipe) closedWhileRunning() time.Time { return p.closedAt }

// lines returns what was reported, once the child has ended. A program
// without the tracker may have passed the pipe on to a process that
// outlives it: gofil waits for it a moment, not longer.
func (p *reportPipe) lines() []string {
	p.r.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	lines := <-p.done
	p.r.Close()
	return lines
}
