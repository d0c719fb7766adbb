package runner

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestSeriesBounded feeds a series of 8 points 1000 readings with one
// spike: it keeps at most 8 points, in time order, the spike among them, and
// grows no larger than its capacity.
func TestSeriesBounded(t *testing.T) {
	s := series{points: make([]Point, 0, 8), stride: 1}
	const spikeAt = 637
	for i := 0; i < 1000; i++ {
		rss := uint64(100 + i%7)
		if i == spikeAt {
			rss = 1 << 30
		}
		s.add(Point{At: time.Duration(i) * time.Millisecond, RSS: rss})
	}
	pts := s.finish()
	if len(pts) == 0 || len(pts) > 8 || cap(pts) != 8 {
		t.Fatalf("%d points, capacity %d; want 1 to 8 in the capacity of 8", len(pts), cap(pts))
	}
	spike := false
	for i, p := range pts {
		if i > 0 && p.At <= pts[i-1].At {
			t.Errorf("point %d at %v is not after point %d at %v", i, p.At, i-1, pts[i-1].At)
		}
		if p.RSS == 1<<30 {
			spike = p.At == spikeAt*time.Millisecond
		}
	}
	if !spike {
		t.Errorf("the spike at %d ms is not among the points %v", spikeAt, pts)
	}
	if last := pts[len(pts)-1].At; last < 900*time.Millisecond {
		t.Errorf("the last point is at %v; the readings ran to 999 ms", last)
	}
}

// TestSamplerAllocatesNothing reads this process's memory: a reading
// allocates nothing once the sampler is made, and finds a resident size
// and high-water mark.
func TestSamplerAllocatesNothing(t *testing.T) {
	sm, err := newSampler(os.Getpid(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer sm.close()
	at := time.Duration(0)
	if n := testing.AllocsPerRun(200, func() { at++; sm.sample(at) }); n != 0 {
		t.Errorf("a reading allocates %v times, want 0", n)
	}
	pts := sm.series.finish()
	if len(pts) == 0 || pts[0].RSS == 0 || sm.hwm < pts[0].RSS {
		t.Errorf("readings %v, high-water mark %d: want a resident size under the mark", pts[:min(len(pts), 3)], sm.hwm)
	}
}

// TestSampleRSSSlowsDown: gofil reads a child's memory every interval for
// its first second, then five times less often. A child of 3 s read at
// 10 ms is read about 100 + 40 times, where reading every interval would
// make 300; on a loaded machine the ticker only falls behind.
func TestSampleRSSSlowsDown(t *testing.T) {
	cmd := exec.Command("sleep", "3")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	pts, _ := sampleRSS(cmd.Process.Pid, start, 10*time.Millisecond, done)
	first := 0
	for _, p := range pts {
		if p.At < fastSampling {
			first++
		}
	}
	t.Logf("%d readings, %d in the first second", len(pts), first)
	if len(pts) > 200 || len(pts)-first > 60 {
		t.Errorf("%d readings of a 3 s child, %d after its first second: want at most 200, and 60 after it", len(pts), len(pts)-first)
	}
	if first < 20 {
		t.Errorf("%d readings in the child's first second, want at least 20 (every 10 ms)", first)
	}
}
