// Command helper lays out the DOT graph on its standard input as SVG on its
// standard output, with go-graphviz (Graphviz compiled to WebAssembly, run
// by wazero). gofil builds it on first use and runs it as a process of its
// own, so that no other gofil command initialises Graphviz: go-graphviz
// compiles its WebAssembly module in its package initialisation, at a cost
// in time and memory, and keeps a compilation cache in os.TempDir, which
// gofil points at a private directory for this process only.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/goccy/go-graphviz"
)

// maxDOT bounds the graph read; gofil's call graphs are a few tens of KiB.
const maxDOT = 16 << 20

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "graphviz:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	dot, err := io.ReadAll(io.LimitReader(in, maxDOT+1))
	if err != nil {
		return err
	}
	if len(dot) > maxDOT {
		return fmt.Errorf("the graph is over %d bytes", maxDOT)
	}
	ctx := context.Background()
	gv, err := graphviz.New(ctx)
	if err != nil {
		return err
	}
	defer gv.Close()
	graph, err := graphviz.ParseBytes(dot)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	defer graph.Close()
	var svg bytes.Buffer
	if err := gv.Render(ctx, graph, graphviz.SVG, &svg); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	_, err = out.Write(svg.Bytes())
	return err
}
