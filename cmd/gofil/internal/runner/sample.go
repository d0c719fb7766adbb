package runner

import (
	"fmt"
	"os"
	"time"

	"github.com/gofil/gofil/internal/procfs"
)

// maxPoints bounds the RSS timeline of one run: 64 KiB of readings, however
// long the program runs.
const maxPoints = 4096

// sampler reads a process's resident memory from files it opened once, into
// a buffer of its own, so that a reading allocates nothing, in gofil's heap
// or in the kernel. When gofil shares a memory cgroup with its child (in a
// container), an allocation of gofil's while the cgroup is full can make
// gofil the one the out-of-memory killer chooses.
type sampler struct {
	statm, status *os.File
	page          uint64
	buf           [4096]byte
	hwm           uint64
	series        series
}

func newSampler(pid int, capacity int) (*sampler, error) {
	statm, err := os.Open(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return nil, err
	}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		statm.Close()
		return nil, err
	}
	return &sampler{
		statm:  statm,
		status: status,
		page:   uint64(os.Getpagesize()),
		series: series{points: make([]Point, 0, capacity), stride: 1},
	}, nil
}

// sample takes one reading, made at since the start.
func (s *sampler) sample(at time.Duration) {
	// An exiting process reads as 0: that is no measurement.
	if n, _ := s.statm.ReadAt(s.buf[:], 0); n > 0 {
		if resident, _, ok := procfs.Statm(s.buf[:n]); ok && resident > 0 {
			s.series.add(Point{At: at, RSS: resident * s.page})
		}
	}
	if n, _ := s.status.ReadAt(s.buf[:], 0); n > 0 {
		if h, ok := procfs.StatusHighWater(s.buf[:n]); ok && h > s.hwm {
			s.hwm = h
		}
	}
}

func (s *sampler) close() {
	s.statm.Close()
	s.status.Close()
}

// series keeps at most cap(points) readings without allocating. When it is
// full, neighbouring points are merged, the larger kept, and from then on
// each point is the largest of twice as many readings: the timeline's
// resolution halves, its peaks stay.
type series struct {
	points  []Point
	stride  int   // readings per point
	n       int   // readings in pending
	pending Point // the largest of the readings since the last point
}

func (s *series) add(p Point) {
	if s.n == 0 || p.RSS > s.pending.RSS {
		s.pending = p
	}
	s.n++
	if s.n >= s.stride {
		s.flush()
	}
}

func (s *series) flush() {
	if s.n == 0 {
		return
	}
	if len(s.points) == cap(s.points) {
		half := len(s.points) / 2
		for i := 0; i < half; i++ {
			a, b := s.points[2*i], s.points[2*i+1]
			if b.RSS > a.RSS {
				a = b
			}
			s.points[i] = a
		}
		if len(s.points)%2 == 1 {
			s.points[half] = s.points[len(s.points)-1]
			half++
		}
		s.points = s.points[:half]
		s.stride *= 2
	}
	s.points = append(s.points, s.pending)
	s.n = 0
}

// finish returns the points, with the readings not yet in one.
func (s *series) finish() []Point {
	s.flush()
	return s.points
}
