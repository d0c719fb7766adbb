// Command pacing is a batch job whose heap the GC's settings shape. It
// reads 40,000 records as JSON lines, decodes each with encoding/json, and
// keeps every second in an index: the live heap, growing steadily to about
// 55 MiB of records, byte slices of many sizes, strings and a map. The
// rest it drops, with the lines and the decoder's scratch. Then it writes
// a report of the index, encoding every record six times over, while its
// live heap stays as it is. In all, about ten times its live data is
// garbage.
//
// It never calls runtime.GC, so every GC cycle is the pacer's, and how
// large the heap grows between them is set by GOGC and GOMEMLIMIT alone:
// about twice the live heap at GOGC=100, 1.5 times at GOGC=50, three times
// at GOGC=200. The report phase runs several cycles over the whole live
// heap, so the peak is the heap at one of them, whatever the phase of the
// last cycle at the program's end.
//
// The truth for a setting is the program run under it, without gofil:
// the runtime's own figures, the heap at the end of each GC
// (GODEBUG=gctrace=1) and, printed to stderr at the end, the heap's bytes
// in objects (runtime/metrics). Its allocation does not depend on time or
// on the GC: the records come from a fixed seed, and the report walks
// them in the order they were read.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"runtime/metrics"
	"strconv"
)

const records = 40_000

type record struct {
	ID      int               `json:"id"`
	Name    string            `json:"name"`
	Tags    []string          `json:"tags"`
	Score   float64           `json:"score"`
	Attrs   map[string]string `json:"attrs"`
	Payload []byte            `json:"payload"`
}

func main() {
	rng := rand.New(rand.NewSource(1))
	index := make(map[string]*record)
	var kept []*record
	var sum int
	for i := 0; i < records; i++ {
		line := makeLine(rng, i)
		var r record
		if err := json.Unmarshal(line, &r); err != nil {
			fmt.Fprintln(os.Stderr, "pacing:", err)
			os.Exit(1)
		}
		sum += len(r.Payload) + len(r.Tags)
		if i%2 == 0 {
			index[r.Name+"/"+strconv.Itoa(r.ID)] = &r
			kept = append(kept, &r)
		}
	}
	for pass := 0; pass < 6; pass++ {
		for _, r := range kept {
			out, err := json.Marshal(r)
			if err != nil {
				fmt.Fprintln(os.Stderr, "pacing:", err)
				os.Exit(1)
			}
			sum += len(out)
		}
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	fmt.Fprintf(os.Stderr, "pacing: heap at end %d\n", s[0].Value.Uint64())
	fmt.Printf("pacing: %d records, %d kept, checksum %d\n", records, len(index), sum)
}

// makeLine writes record i as one JSON line, its payload 200 B to 4 KiB.
func makeLine(rng *rand.Rand, i int) []byte {
	payload := make([]byte, 200+rng.Intn(4<<10))
	rng.Read(payload)
	b := []byte(`{"id":`)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"name":"item-`...)
	b = strconv.AppendInt(b, rng.Int63n(1e9), 36)
	b = append(b, `","tags":[`...)
	for t := rng.Intn(6); t >= 0; t-- {
		b = append(b, `"tag`...)
		b = strconv.AppendInt(b, int64(rng.Intn(100)), 10)
		b = append(b, '"')
		if t > 0 {
			b = append(b, ',')
		}
	}
	b = append(b, `],"score":`...)
	b = strconv.AppendFloat(b, rng.Float64()*100, 'f', 3, 64)
	b = append(b, `,"attrs":{"colour":"c`...)
	b = strconv.AppendInt(b, int64(rng.Intn(20)), 10)
	b = append(b, `","size":"s`...)
	b = strconv.AppendInt(b, int64(rng.Intn(9)), 10)
	b = append(b, `"},"payload":"`...)
	b = base64.StdEncoding.AppendEncode(b, payload)
	return append(b, `"}`...)
}
