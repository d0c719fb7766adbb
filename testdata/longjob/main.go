// Command longjob is a batch job of a few seconds, for gofil's overhead
// benchmark: it parses generated CSV-like rows into records, aggregates
// them in a map, keeps every tenth record, and throws the rest away, so
// that it allocates steadily (hundreds of MiB per second) while its live
// heap grows slowly.
package main

import (
	"fmt"
	"strconv"
	"strings"
)

type record struct {
	id     int
	city   string
	amount float64
	tags   []string
}

func main() {
	const rows = 3_000_000
	totals := map[string]float64{}
	var kept []*record
	var line strings.Builder
	for i := 0; i < rows; i++ {
		line.Reset()
		fmt.Fprintf(&line, "%d,city%03d,%d.%02d,a;b;c%d", i, i%500, i%9973, i%100, i%7)
		r := parse(line.String())
		totals[r.city] += r.amount
		if i%10 == 0 {
			kept = append(kept, r)
		}
	}
	fmt.Println("longjob:", len(totals), "cities,", len(kept), "records kept")
}

func parse(s string) *record {
	f := strings.Split(s, ",")
	id, _ := strconv.Atoi(f[0])
	amount, _ := strconv.ParseFloat(f[2], 64)
	return &record{id: id, city: f[1], amount: amount, tags: strings.Split(f[3], ";")}
}
