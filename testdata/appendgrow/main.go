// Command appendgrow ingests readings from a fleet of sensors, encodes each
// sensor's series, and derives features from it. The series and the
// encodings grow as data arrives, so their backing arrays are reallocated
// over and over from the same lines, each time at a new size; the runtime
// keeps one heap-profile record per (stack, size). At the end, when the
// heap is largest, it holds:
//
//	main.recordSeries    64 series of 48k..320k samples of 16 bytes, grown
//	                     one append at a time (about 200 MiB)
//	main.encodeSeries    64 bytes.Buffers of delta-encoded samples, grown by
//	                     doubling (about 70 MiB)
//	main.deriveFeatures  three arrays per series, of its exact length
//	                     (about 270 MiB)
//
// Every backing array kept is at least 256 KiB. The garbage of growth, the
// old backing arrays (about four times the kept series and once the kept
// buffers), comes first, while the live heap is small: under GOGC=100 the
// heap stays below about 340 MiB while it is made, well under the end's
// 540 MiB. deriveFeatures allocates exactly what it keeps.
//
// The truth is measured by the program itself: the live heap after
// runtime.GC, from runtime.ReadMemStats, before and after each of the three
// calls, with runtime.KeepAlive on what they return. Each call's garbage is
// collected by the GC that measures it. With TRUTH_OUT set, the program
// writes its truth there as JSON.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"

	"example.com/gofiltest/truth"
)

const (
	sensors    = 64
	minSamples = 48 << 10
	maxSamples = 320 << 10
)

// sample is one reading: when it was taken, in milliseconds, and its value.
type sample struct {
	at    int64
	value float64
}

// sensor is one sensor's series, in arrival order.
type sensor struct {
	id      int
	samples []sample
}

func (s *sensor) record(at int64, v float64) {
	s.samples = append(s.samples, sample{at, v})
}

// features are derived from a series, one value per sample.
type features struct {
	ewma  []float64 // exponentially weighted moving average
	rate  []float64 // change per second since the previous sample
	score []float64 // distance from the moving average, in deviations
}

func main() {
	var t truth.Truth

	before := truth.LiveHeap()
	fleet := recordSeries(newFeed(7))
	before = t.Add("main.recordSeries", before)
	encoded := encodeSeries(fleet)
	before = t.Add("main.encodeSeries", before)
	feats := deriveFeatures(fleet)
	t.Total = int64(t.Add("main.deriveFeatures", before))

	if err := t.Write(); err != nil {
		fmt.Fprintln(os.Stderr, "appendgrow:", err)
		os.Exit(1)
	}
	var samples, size int
	var check float64
	for i, s := range fleet {
		samples += len(s.samples)
		size += encoded[i].Len()
		check += feats[i].ewma[len(feats[i].ewma)-1] + feats[i].score[len(feats[i].score)/2]
	}
	fmt.Printf("appendgrow: %d sensors, %d samples, %d bytes encoded, check %.6f\n", len(fleet), samples, size, check)
	runtime.GC()
	runtime.KeepAlive(fleet)
	runtime.KeepAlive(encoded)
	runtime.KeepAlive(feats)
}

// feed simulates the fleet's readings: each sensor reports at its own
// period until it has sent its quota, and readings arrive interleaved.
type feed struct {
	rng    uint64
	quota  []int
	period []int64
}

func newFeed(seed uint64) *feed {
	f := &feed{rng: seed*0x9e3779b97f4a7c15 | 1, quota: make([]int, sensors), period: make([]int64, sensors)}
	for i := range f.quota {
		f.quota[i] = minSamples + int(f.next()%(maxSamples-minSamples+1))
		f.period[i] = 100 + int64(f.next()%900)
	}
	return f
}

// next is xorshift64*.
func (f *feed) next() uint64 {
	f.rng ^= f.rng >> 12
	f.rng ^= f.rng << 25
	f.rng ^= f.rng >> 27
	return f.rng * 2685821657736338717
}

// recordSeries takes the feed's readings as they arrive and appends each
// to its sensor's series.
func recordSeries(f *feed) []*sensor {
	fleet := make([]*sensor, sensors)
	for i := range fleet {
		fleet[i] = &sensor{id: i}
	}
	level := make([]float64, sensors)
	for round := int64(0); ; round++ {
		active := 0
		for i, s := range fleet {
			if len(s.samples) == f.quota[i] {
				continue
			}
			active++
			level[i] += float64(int64(f.next()%2001)-1000) / 1000
			s.record(round*f.period[i], level[i])
		}
		if active == 0 {
			return fleet
		}
	}
}

// encodeSeries delta-encodes each series as varints: the time since the
// previous sample and the value in thousandths.
func encodeSeries(fleet []*sensor) []*bytes.Buffer {
	out := make([]*bytes.Buffer, len(fleet))
	var tmp [2 * binary.MaxVarintLen64]byte
	for i, s := range fleet {
		buf := new(bytes.Buffer)
		var prevAt, prevMilli int64
		for _, x := range s.samples {
			milli := int64(math.Round(x.value * 1000))
			n := binary.PutVarint(tmp[:], x.at-prevAt)
			n += binary.PutVarint(tmp[n:], milli-prevMilli)
			buf.Write(tmp[:n])
			prevAt, prevMilli = x.at, milli
		}
		out[i] = buf
	}
	return out
}

// deriveFeatures computes each series' features in one pass.
func deriveFeatures(fleet []*sensor) []features {
	const alpha = 0.05
	out := make([]features, len(fleet))
	for i, s := range fleet {
		n := len(s.samples)
		f := features{
			ewma:  make([]float64, 0, n),
			rate:  make([]float64, 0, n),
			score: make([]float64, 0, n),
		}
		mean, variance := s.samples[0].value, 1.0
		prev := s.samples[0]
		for _, x := range s.samples {
			d := x.value - mean
			mean += alpha * d
			variance = (1 - alpha) * (variance + alpha*d*d)
			r := 0.0
			if dt := x.at - prev.at; dt > 0 {
				r = (x.value - prev.value) * 1000 / float64(dt)
			}
			f.ewma = append(f.ewma, mean)
			f.rate = append(f.rate, r)
			f.score = append(f.score, d/math.Sqrt(variance))
			prev = x
		}
		out[i] = f
	}
	return out
}
