// Command phases holds its data in three phases, one function each, with
// garbage churning through every phase so that the GC runs many times in
// each: main.loadOrders keeps about 51 MiB of byte slices of many sizes,
// then lets them go for main.loadIndex, about 60 MiB of strings and a map
// of them, then lets those go for main.loadSummary, about 23 MiB of
// records. At any GC mark inside a phase the heap holds that phase's data
// and garbage, and next to nothing of the other phases' functions.
//
// The truth is measured by the program: each phase's live bytes are the
// live heap after runtime.GC, before and after its load (package truth),
// and each phase's window is timed from main's package initialisation,
// which follows gofil's tracker's start by well under a millisecond. With
// TRUTH_OUT set it writes them there as JSON.
package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"example.com/gofiltest/truth"
)

var start = time.Now()

type phase struct {
	Function string `json:"function"`
	Bytes    int64  `json:"bytes"`
	FromMS   int64  `json:"from_ms"` // the data is held from here
	ToMS     int64  `json:"to_ms"`   // to here
}

var sink []byte

// churn makes garbage for d: buffers of many sizes, dropped at once.
func churn(rng *rand.Rand, d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 64; i++ {
			sink = make([]byte, 1024+rng.Intn(32<<10))
		}
	}
}

func main() {
	rng := rand.New(rand.NewSource(7))
	var phases []phase
	hold := func(name string, load func() any) any {
		before := truth.LiveHeap()
		data := load()
		live := truth.LiveHeap()
		p := phase{Function: name, Bytes: int64(live) - int64(before), FromMS: time.Since(start).Milliseconds()}
		churn(rng, 600*time.Millisecond)
		p.ToMS = time.Since(start).Milliseconds()
		phases = append(phases, p)
		return data
	}
	orders := hold("main.loadOrders", func() any { return loadOrders(rng) })
	runtime.KeepAlive(orders)
	orders = nil
	index := hold("main.loadIndex", func() any { return loadIndex(rng) })
	runtime.KeepAlive(index)
	index = nil
	summary := hold("main.loadSummary", func() any { return loadSummary() })
	runtime.KeepAlive(summary)
	if path := os.Getenv("TRUTH_OUT"); path != "" {
		data, _ := json.MarshalIndent(map[string]any{"phases": phases}, "", "  ")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "phases:", err)
			os.Exit(1)
		}
	}
	fmt.Println("phases: done")
}

// loadOrders keeps byte slices of 1..64 KiB: 48 MiB asked for, about 51 MiB
// once the allocator has rounded each up to its size class.
func loadOrders(rng *rand.Rand) [][]byte {
	var out [][]byte
	for total := 0; total < 48<<20; {
		b := make([]byte, 1024*(1+rng.Intn(64)))
		out = append(out, b)
		total += len(b)
	}
	return out
}

// loadIndex keeps strings built in a loop and a map of them, about 60 MiB.
func loadIndex(rng *rand.Rand) map[string]string {
	m := make(map[string]string)
	var sb strings.Builder
	for i := 0; len(m) < 300_000; i++ {
		sb.Reset()
		sb.WriteString("key-")
		sb.WriteString(strconv.Itoa(i))
		for j := rng.Intn(12); j >= 0; j-- {
			sb.WriteString("-0123456789")
		}
		m[sb.String()[:8+i%4]+strconv.Itoa(i)] = sb.String()
	}
	return m
}

type record struct {
	id    int
	name  string
	score float64
	tags  []string
}

// loadSummary keeps records, about 23 MiB.
func loadSummary() []*record {
	out := make([]*record, 0, 200_000)
	for i := 0; i < 200_000; i++ {
		out = append(out, &record{id: i, name: "r" + strconv.Itoa(i), score: float64(i), tags: []string{"a", strconv.Itoa(i % 9)}})
	}
	return out
}
