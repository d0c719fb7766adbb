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
	p := &reportPipe{r: r, w: w, done: make(chan []string, 1)}
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
		p.done <- lines
	}()
	return p, nil
}

// started closes gofil's copy of the writing end, once the child has its
// own.
func (p *reportPipe) started() { p.w.Close() }

// lines returns what was reported, once the child has ended. A program
// without the tracker may have passed the pipe on to a process that
// outlives it: gofil waits for it a moment, not longer.
func (p *reportPipe) lines() []string {
	p.r.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	lines := <-p.done
	p.r.Close()
	return lines
}
