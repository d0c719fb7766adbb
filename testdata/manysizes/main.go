// Command manysizes loads a pack of objects into an in-memory object store
// and prints the store's CRC-32C. Every entry of a pack is read by one line,
// readEntry's make, whatever its size, so each loader's stack allocates
// dozens of distinct sizes (size classes, or numbers of pages), and the
// runtime keeps one heap-profile record per (stack, size). At the end, when the heap is largest, it holds:
//
//	main.(*store).loadObjects   20,000 objects of 1..32 KiB (about 340 MiB,
//	                            spread over every size class in that range)
//	main.(*store).loadSegments  96 segments of 100 KB..4 MB (about 200 MiB,
//	                            each rounded to a whole number of pages)
//	main.(*store).loadBlobs     1,200 blobs of 20..200 KiB (about 130 MiB,
//	                            across the small/large object boundary)
//
// The truth is measured by the program itself: the live heap after
// runtime.GC, from runtime.ReadMemStats, before and after each loader, with
// runtime.KeepAlive on the store. The packs are generated on the fly into
// the entries' own buffers and the loaders throw nothing away, so the heap
// never holds garbage to speak of, and the last GC before main returns sees
// only the store. With TRUTH_OUT set, the program writes its truth there as
// JSON.
package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"

	"example.com/gofiltest/truth"
)

// A pack is a stream of entries, each a 4-byte little-endian length and
// that many bytes of content.
const headerSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// store is an in-memory object store, filled from packs.
type store struct {
	objects  [][]byte
	segments [][]byte
	blobs    [][]byte
	// byCRC indexes the objects by the CRC-32C of their content.
	byCRC map[uint32]int
	// crc covers every entry's content, in load order.
	crc uint32
}

func main() {
	var t truth.Truth
	s := &store{}

	before := truth.LiveHeap()
	if err := s.loadObjects(newPack(1, 20000, 1<<10, 32<<10)); err != nil {
		fail(err)
	}
	before = t.Add("main.(*store).loadObjects", before)
	if err := s.loadSegments(newPack(2, 96, 100_000, 4_000_000)); err != nil {
		fail(err)
	}
	before = t.Add("main.(*store).loadSegments", before)
	if err := s.loadBlobs(newPack(3, 1200, 20<<10, 200<<10)); err != nil {
		fail(err)
	}
	t.Total = int64(t.Add("main.(*store).loadBlobs", before))

	if err := t.Write(); err != nil {
		fail(err)
	}
	fmt.Printf("manysizes: %d objects, %d segments, %d blobs, crc32c %08x\n",
		len(s.objects), len(s.segments), len(s.blobs), s.crc)
	runtime.GC()
	runtime.KeepAlive(s)
}

// loadObjects reads small objects and indexes them by content.
func (s *store) loadObjects(r io.Reader) error {
	s.byCRC = make(map[uint32]int)
	for {
		b, err := s.readEntry(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("objects: %w", err)
		}
		s.byCRC[crc32.Checksum(b, castagnoli)] = len(s.objects)
		s.objects = append(s.objects, b)
	}
}

// loadSegments reads large segments.
func (s *store) loadSegments(r io.Reader) error {
	for {
		b, err := s.readEntry(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("segments: %w", err)
		}
		s.segments = append(s.segments, b)
	}
}

// loadBlobs reads blobs and keeps those that are not empty.
func (s *store) loadBlobs(r io.Reader) error {
	for {
		b, err := s.readEntry(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("blobs: %w", err)
		}
		if len(b) > 0 {
			s.blobs = append(s.blobs, b)
		}
	}
}

// readEntry reads one entry of a pack into a buffer of its own size and
// folds its content into the store's CRC. It returns io.EOF at the end of
// the pack.
func (s *store) readEntry(r io.Reader) ([]byte, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("truncated header: %w", err)
		}
		return nil, err
	}
	b := make([]byte, binary.LittleEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("entry of %d bytes: %w", len(b), io.ErrUnexpectedEOF)
	}
	s.crc = crc32.Update(s.crc, castagnoli, b)
	return b, nil
}

// pack generates a pack of count entries whose sizes are drawn uniformly
// from [lo, hi], filled with pseudo-random content.
type pack struct {
	rng      uint64
	count    int
	lo, hi   int
	hdr      [headerSize]byte
	hdrLeft  int
	bodyLeft int
}

func newPack(seed uint64, count, lo, hi int) *pack {
	return &pack{rng: seed*0x9e3779b97f4a7c15 | 1, count: count, lo: lo, hi: hi}
}

func (p *pack) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		switch {
		case p.hdrLeft > 0:
			c := copy(b[n:], p.hdr[headerSize-p.hdrLeft:])
			p.hdrLeft -= c
			n += c
		case p.bodyLeft > 0:
			c := min(len(b)-n, p.bodyLeft)
			p.fill(b[n : n+c])
			p.bodyLeft -= c
			n += c
		case p.count > 0:
			p.count--
			size := p.lo + int(p.next()%uint64(p.hi-p.lo+1))
			binary.LittleEndian.PutUint32(p.hdr[:], uint32(size))
			p.hdrLeft, p.bodyLeft = headerSize, size
		default:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
	}
	return n, nil
}

// next is xorshift64*.
func (p *pack) next() uint64 {
	p.rng ^= p.rng >> 12
	p.rng ^= p.rng << 25
	p.rng ^= p.rng >> 27
	return p.rng * 2685821657736338717
}

func (p *pack) fill(b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, p.next())
		b = b[8:]
	}
	for i := range b {
		b[i] = byte(p.next())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "manysizes:", err)
	os.Exit(1)
}
