package page

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gofil/gofil/internal/raw"
	"github.com/gofil/gofil/report/heap"
	"github.com/gofil/gofil/report/internal/fixture"
	"github.com/gofil/gofil/report/rundir"
)

// TestMomentsPeakAfterBudget: when the moments' graphs spend their budget
// before the peak's own mark comes, the peak's mark is still listed, last,
// and the marks between get no graph.
func TestMomentsPeakAfterBudget(t *testing.T) {
	// Paths wide enough to draw, each 28 frames deep: a graph near its
	// own budget at every mark.
	var stacks []heap.Stack
	for c := 0; c < 30; c++ {
		frames := []heap.Frame{{Func: "runtime.main", File: "/go/src/runtime/proc.go", Line: 283}, {Func: "main.main", File: "/src/app/main.go", Line: 1}}
		for d := 0; d < 28; d++ {
			frames = append(frames, heap.Frame{Func: fmt.Sprintf("example.com/app/pkg%02d.Handler%04d", d, c), File: "/src/app/x.go", Line: 10 + d})
		}
		stacks = append(stacks, heap.Stack{Frames: frames, Bytes: 1 << 20, Objects: 1})
	}
	deep := fixture.HeapOf(stacks)
	ids := map[heap.Frame]int{}
	m := &raw.Moments{Version: raw.Version, Rate: 512}
	for _, s := range deep.Stacks {
		var st []int
		for i := len(s.Frames) - 1; i >= 0; i-- { // leaf first
			f := s.Frames[i]
			id, ok := ids[f]
			if !ok {
				id = len(m.Frames)
				ids[f] = id
				m.Frames = append(m.Frames, f)
			}
			st = append(st, id)
		}
		m.Stacks = append(m.Stacks, st)
	}
	const moments = 24
	for k := 0; k < moments; k++ {
		mo := raw.Moment{Cycle: uint32(100 + k), AtNS: int64(k+1) * 1e8}
		for i, s := range deep.Stacks {
			b := s.Bytes + int64(k) // every stack changes at every mark
			mo.Changes = append(mo.Changes, [4]int64{int64(i), 1, b, 0})
			mo.Bytes += b
		}
		m.Moments = append(m.Moments, mo)
	}
	peak := fixture.HeapOf(deep.Stacks)
	peak.Raw.Cycle = 100 + moments - 1
	run := &rundir.Run{Peak: peak, RawMoments: m}
	flames, js, err := pageMoments(run, newUserCode(peak.Stacks), newSourceCache())
	if err != nil {
		t.Fatal(err)
	}
	var data []momentData
	if err := json.Unmarshal([]byte(js), &data); err != nil {
		t.Fatal(err)
	}
	spent := 0
	for _, f := range flames {
		spent += len(f.Flame)
	}
	if len(flames) >= moments-1 || spent < momentsBudget {
		t.Fatalf("%d graphs of %d bytes in all for %d marks: the budget of %d was not spent, the test shows nothing", len(flames), spent, moments-1, momentsBudget)
	}
	if len(data) != len(flames)+1 {
		t.Fatalf("%d marks listed for %d graphs, want the graphs' and the peak's", len(data), len(flames))
	}
	last := data[len(data)-1]
	if !last.Peak || last.Cycle != peak.Raw.Cycle || last.Index != len(data)-1 || len(last.Sites) == 0 {
		t.Errorf("last mark listed: %+v, want the peak's (GC %d) with its sites", last, peak.Raw.Cycle)
	}
}
