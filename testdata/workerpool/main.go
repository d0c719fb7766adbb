// Command workerpool fetches a batch of documents with a pool of
// goroutines, then digests them with another. Each pool is a fixed number
// of workers fed by a channel and waited for with a sync.WaitGroup; the
// workers keep their results in structures shared by the pool. At the end,
// when the heap is largest, it holds:
//
//	main.fetch   7,000 documents in a shared slice, 95% of 2..32 KiB and 5%
//	             of 128 KiB..1 MiB, each body from one make (about 320 MiB)
//	main.digest  a fingerprint per document in a shared map, with hashes
//	             of half its body's size (about 160 MiB)
//
// Both are the roots of their goroutines' stacks: the bytes are theirs, not
// main's, which only starts them.
//
// The truth is measured by the program itself: the live heap after
// runtime.GC, from runtime.ReadMemStats, before the workers of a pool start
// and after they have all returned, with runtime.KeepAlive on what they
// filled. The shared structures are made, empty, before the measurement
// starts; what the workers add to them, the map's growth included, is
// theirs. Every result is allocated at its final size, and the workers'
// only garbage is the map tables outgrown, so the heap never holds much
// more than is live. With TRUTH_OUT set, the program writes its truth there
// as JSON.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"example.com/gofiltest/truth"
)

const (
	workers   = 8
	documents = 7000
	step      = 16
)

// document is one fetched document.
type document struct {
	id   int
	name string
	body []byte
}

// fingerprint summarises a document: the chained hash of its body at every
// step bytes.
type fingerprint struct {
	name   string
	size   int
	hashes []uint64
	sum    uint64
}

func main() {
	var t truth.Truth
	sizes := planSizes(documents)

	docs := make([]*document, len(sizes))
	ids := make(chan int, workers)
	var wg sync.WaitGroup
	before := truth.LiveHeap()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go fetch(ids, sizes, docs, &wg)
	}
	for id := range sizes {
		ids <- id
	}
	close(ids)
	wg.Wait()
	before = t.Add("main.fetch", before)

	digests := make(map[string]*fingerprint)
	var mu sync.Mutex
	queue := make(chan *document, workers)
	before = truth.LiveHeap()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go digest(queue, &mu, digests, &wg)
	}
	for _, d := range docs {
		queue <- d
	}
	close(queue)
	wg.Wait()
	t.Total = int64(t.Add("main.digest", before))

	if err := t.Write(); err != nil {
		fmt.Fprintln(os.Stderr, "workerpool:", err)
		os.Exit(1)
	}
	var sum uint64
	var size int
	for _, d := range docs {
		f := digests[d.name]
		if f.size != sizes[d.id] {
			fmt.Fprintf(os.Stderr, "workerpool: %s has %d bytes, want %d\n", d.name, f.size, sizes[d.id])
			os.Exit(1)
		}
		sum ^= f.sum
		size += f.size
	}
	fmt.Printf("workerpool: %d documents, %d bytes, %d digests, xor %016x\n", len(docs), size, len(digests), sum)
	runtime.GC()
	runtime.KeepAlive(docs)
	runtime.KeepAlive(digests)
}

// planSizes returns the size of each document of the batch.
func planSizes(n int) []int {
	sizes := make([]int, n)
	rng := uint64(0x9e3779b97f4a7c15)
	for i := range sizes {
		rng = xorshift(rng)
		r := rng >> 32
		rng = xorshift(rng)
		if r%20 == 0 {
			sizes[i] = 128<<10 + int(rng%(896<<10))
		} else {
			sizes[i] = 2<<10 + int(rng%(30<<10))
		}
	}
	return sizes
}

// fetch fetches the documents whose ids it receives into docs.
func fetch(ids <-chan int, sizes []int, docs []*document, wg *sync.WaitGroup) {
	defer wg.Done()
	for id := range ids {
		d := &document{id: id, name: "doc-" + strconv.Itoa(id), body: make([]byte, sizes[id])}
		download(d.body, uint64(id))
		docs[id] = d
	}
}

// download fills b with the document's content, a pseudo-random stream
// seeded by its id.
func download(b []byte, seed uint64) {
	x := seed*0x9e3779b97f4a7c15 | 1
	for len(b) >= 8 {
		x = xorshift(x)
		binary.LittleEndian.PutUint64(b, x)
		b = b[8:]
	}
	for i := range b {
		x = xorshift(x)
		b[i] = byte(x)
	}
}

// digest digests the documents it receives into out, which mu guards.
func digest(queue <-chan *document, mu *sync.Mutex, out map[string]*fingerprint, wg *sync.WaitGroup) {
	defer wg.Done()
	for d := range queue {
		f := &fingerprint{name: d.name, size: len(d.body), hashes: make([]uint64, 0, len(d.body)/step)}
		h := uint64(14695981039346656037)
		for off := 0; off+step <= len(d.body); off += step {
			h = (h ^ binary.LittleEndian.Uint64(d.body[off:])) * 1099511628211
			f.hashes = append(f.hashes, h)
		}
		f.sum = h
		mu.Lock()
		out[d.name] = f
		mu.Unlock()
	}
}

func xorshift(x uint64) uint64 {
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	return x * 2685821657736338717
}
