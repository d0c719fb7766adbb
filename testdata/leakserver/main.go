// Command leakserver is an HTTP server with one leaking handler and one
// churning handler, for gofil watch's tests:
//
//	GET /leak   keeps a buffer for ever (main.rememberRequest), of a
//	            pseudo-random length from 1 KiB to 120 KiB, about 64 KiB on
//	            average
//	GET /churn  allocates 1 MiB, uses it and drops it (main.processBatch)
//	GET /count  {"leak": N, "leak_bytes": B, "churn": N, "profiles": [...],
//	            "profile_bytes": [...]}: requests served and the bytes the
//	            leak holds, and the /leak requests and bytes the leak held
//	            when each heap profile was taken
//	/debug/pprof/...  net/http/pprof
//
// It prints "listening on ADDR" once it accepts connections.
//
// The leak allocates many sizes from one line, as real leaks do: the
// runtime keeps one heap-profile record per stack and allocation size, so
// the line's stack comes as one sample per size (34 sizes in the first 300
// requests), and a profiler that kept one of them would miss most of the
// leak. Its truth is exact: leak_bytes counts each buffer's capacity,
// which is what the allocator gave it (see rememberRequest), and the
// lengths come from a fixed seed, so that every run leaks the same
// sequence: the first 300 requests keep 19,822,592 bytes, 300 × 64 KiB
// + 0.8%.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	// The leak's lengths are uniform from minLeak to maxLeak: from the
	// 1 KiB size class through all the larger ones to 32 KiB, then whole
	// pages of a large object. Rounded up to what the allocator gives,
	// they average 63.7 KiB.
	minLeak   = 1 << 10
	maxLeak   = 120 << 10
	churnSize = 1 << 20
)

var (
	// mu makes a heap profile and a /leak request exclusive, so that the
	// leak recorded with each profile is exactly what it holds.
	mu             sync.Mutex
	kept           [][]byte
	leaks          int
	leakBytes      int64
	atProfile      = []int{}
	bytesAtProfile = []int64{}
	// lengths draws the leak's lengths; a fixed seed makes them the same
	// every run.
	lengths = rand.New(rand.NewPCG(2, 0))

	churns atomic.Int64
)

func main() {
	// Sample one allocation per 4 KiB on average instead of the default
	// 512 KiB. An object of s bytes is sampled with probability
	// p = 1-exp(-s/4096), and the profile scales what it sampled by 1/p,
	// with a variance of s²·(1-p)/p per object: under 0.1% of the leak's
	// bytes are in objects of less than 4 KiB, and the standard error of
	// the growth over 300 leaked buffers is about 19 KiB of 19 MiB, 0.1%.
	// At the default rate it would be sqrt(512 KiB · 19 MiB) = 3.2 MiB,
	// 16%: a ±10% check would fail about half the time.
	runtime.MemProfileRate = 4096
	checkAllocSize()

	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/heap", heapProfile)
	mux.HandleFunc("/leak", func(w http.ResponseWriter, r *http.Request) {
		n := rememberRequest(r)
		fmt.Fprintf(w, "kept %d\n", n)
	})
	mux.HandleFunc("/churn", func(w http.ResponseWriter, r *http.Request) {
		sum := processBatch(r)
		churns.Add(1)
		fmt.Fprintf(w, "%08x\n", sum)
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"leak": leaks, "leak_bytes": leakBytes, "churn": churns.Load(),
			"profiles": atProfile, "profile_bytes": bytesAtProfile,
		})
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakserver:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}

// heapProfile serves net/http/pprof's heap profile while no /leak request
// runs, and records how many /leak requests and bytes it holds.
func heapProfile(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	defer mu.Unlock()
	pprof.Handler("heap").ServeHTTP(w, r)
	atProfile = append(atProfile, leaks)
	bytesAtProfile = append(bytesAtProfile, leakBytes)
}

// rememberRequest keeps a buffer of a pseudo-random length per request for
// ever: the leak.
func rememberRequest(r *http.Request) int {
	mu.Lock()
	defer mu.Unlock()
	n := minLeak + lengths.IntN(maxLeak-minLeak+1)
	// Appending to nil allocates through runtime.growslice, which rounds
	// the capacity up to the allocation's size (roundupsize: the size
	// class, or whole pages for a large object); that size is what the
	// heap profile records (profilealloc is passed the object's size).
	// checkAllocSize makes sure of the rounding.
	buf := append([]byte(nil), make([]byte, n)...)
	copy(buf, r.URL.String())
	kept = append(kept, buf)
	leaks++
	leakBytes += int64(cap(buf))
	return leaks
}

// checkAllocSize exits if appending to nil no longer rounds the capacity
// up to the allocation's size, which leak_bytes relies on: 1025 bytes take
// the 1152-byte size class, 20,000 the 20,480-byte one
// (runtime/sizeclasses.go), and 40,961 six 8 KiB pages.
func checkAllocSize() {
	for n, want := range map[int]int{1025: 1152, 20000: 20480, 40961: 49152} {
		if got := cap(append([]byte(nil), make([]byte, n)...)); got != want {
			fmt.Fprintf(os.Stderr, "leakserver: a %d-byte append got capacity %d, want the allocation's size %d: the runtime changed, and /count's leak_bytes is no longer exact\n", n, got, want)
			os.Exit(1)
		}
	}
}

// processBatch allocates 1 MiB, fills it, checksums it and drops it:
// churn, not a leak.
func processBatch(r *http.Request) uint32 {
	buf := make([]byte, churnSize)
	for i := range buf {
		buf[i] = byte(i) ^ byte(len(r.URL.Path))
	}
	return crc32.ChecksumIEEE(buf)
}
