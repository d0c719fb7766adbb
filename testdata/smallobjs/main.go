// Command smallobjs holds millions of small objects: main.buildList holds a
// linked list of 6,291,456 nodes of 64 bytes (384 MiB) and main.loadBlob
// 64 MiB in one allocation, both alive at the peak.
package main

import (
	"fmt"
	"runtime"
)

const nodes = 6 << 20

type node struct {
	next    *node
	payload [7]int64
}

func main() {
	list := buildList()
	blob := loadBlob()
	n := 0
	for p := list; p != nil; p = p.next {
		n++
	}
	fmt.Println("smallobjs: nodes", n, "blob", len(blob))
	runtime.KeepAlive(blob)
	list, blob = nil, nil
	runtime.GC()
}

func buildList() *node {
	var head *node
	for i := 0; i < nodes; i++ {
		head = &node{next: head, payload: [7]int64{int64(i)}}
	}
	return head
}

func loadBlob() []byte {
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}
