package flamegraph_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/gofil/gofil/flamegraph"
)

func ExampleRender() {
	loadRows := flamegraph.Frame{Func: "main.loadRows", File: "/app/rows.go", Line: 40, Source: "rows = append(rows, r)"}
	samples := []flamegraph.Sample{
		{Stack: []flamegraph.Frame{{Func: "main.main"}, loadRows}, Bytes: 64 << 20, Objects: 12},
		{Stack: []flamegraph.Frame{{Func: "main.main"}, {Func: "encoding/json.Unmarshal"}}, Bytes: 20 << 20, Objects: 4096},
	}
	var svg bytes.Buffer
	if err := flamegraph.Render(&svg, samples, flamegraph.Options{Title: "Peak tracked memory usage"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(strings.HasPrefix(svg.String(), "<svg "), strings.Contains(svg.String(), "84.0 MiB"))
	// Output: true true
}

func ExampleFold() {
	samples := []flamegraph.Sample{
		{Stack: []flamegraph.Frame{{Func: "main.main"}, {Func: "main.loadRows", Line: 40}}, Bytes: 1024},
		{Stack: []flamegraph.Frame{{Func: "main.main"}, {Func: "main.loadRows", Line: 44}}, Bytes: 512},
		{Stack: []flamegraph.Frame{{Func: "main.main"}}, Bytes: 100},
	}
	os.Stdout.Write(flamegraph.Fold(samples))
	// Output:
	// main.main 100
	// main.main;main.loadRows 1536
}

func ExampleParseFolded() {
	samples, err := flamegraph.ParseFolded(strings.NewReader("main.main;main.loadRows 1536\nmain.main 100\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range samples {
		fmt.Println(len(s.Stack), s.Stack[len(s.Stack)-1].Func, s.Bytes)
	}
	// Output:
	// 2 main.loadRows 1536
	// 1 main.main 100
}
