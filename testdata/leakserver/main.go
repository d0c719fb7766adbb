// Command leakserver is an HTTP server with one leaking handler and one
// churning handler, for gofil watch's tests:
//
//	GET /leak   keeps 64 KiB for ever (main.rememberRequest)
//	GET /churn  allocates 1 MiB, uses it and drops it (main.processBatch)
//	GET /count  {"leak": N, "churn": N, "profiles": [...]}: requests served,
//	            and how many /leak requests had been served when each heap
//	            profile was taken
//	/debug/pprof/...  net/http/pprof
//
// It prints "listening on ADDR" once it accepts connections.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	leakSize  = 64 << 10
	churnSize = 1 << 20
)

var (
	// mu makes a heap profile and a /leak request exclusive, so that the
	// leak count recorded with each profile is exactly what it holds.
	mu        sync.Mutex
	kept      [][]byte
	leaks     int
	atProfile = []int{}

	churns atomic.Int64
)

func main() {
	// Sample one allocation per 4 KiB on average instead of the default
	// 512 KiB. A 64 KiB allocation is then sampled with probability
	// 1-exp(-65536/4096) = 1-1.1e-7, so the leak's growth in the heap
	// profile is exact but for a chance of about N·1e-7 of missing one of
	// N allocations. At the default rate the probability is
	// 1-exp(-1/8) = 11.75%, and the relative standard error of the growth
	// over N = 300 leaked buffers would be sqrt((1-p)/(p·N)) = 15.8%:
	// a ±10% check would fail about half the time.
	runtime.MemProfileRate = 4096

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
		json.NewEncoder(w).Encode(map[string]any{"leak": leaks, "churn": churns.Load(), "profiles": atProfile})
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
// runs, and records how many /leak requests it holds.
func heapProfile(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	defer mu.Unlock()
	pprof.Handler("heap").ServeHTTP(w, r)
	atProfile = append(atProfile, leaks)
}

// rememberRequest keeps 64 KiB per request for ever: the leak.
func rememberRequest(r *http.Request) int {
	mu.Lock()
	defer mu.Unlock()
	buf := make([]byte, leakSize)
	copy(buf, r.URL.String())
	kept = append(kept, buf)
	leaks++
	return leaks
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
