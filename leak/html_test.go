package leak

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestLeakWriteHTML checks that the page escapes every name, draws a chart per
// suspect and one of the heap and RSS, and holds the growth flamegraph.
func TestLeakWriteHTML(t *testing.T) {
	const evil = `main.(*T[<script>alert("x")</script>]).f`
	grow := func(i int) int64 { return int64(i) * mib }
	res := Analyze(synth(8, synthSite{evil, grow, keeps(grow)}, synthSite{"main.ok", grow, keeps(grow)}))
	if len(res.Suspects) != 2 {
		t.Fatalf("%d suspects, want 2", len(res.Suspects))
	}
	s := res.Summary(`http://127.0.0.1:1/debug/pprof/heap?gc=1&x="<b>"`)
	s.RSS = []RSSPoint{{0, 100 * mib}, {14, 120 * mib}}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, s, res); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script>alert") || strings.Contains(page, `"<b>"`) {
		t.Errorf("a name reached the page unescaped")
	}
	if !strings.Contains(page, "main.(*T[&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;]).f") {
		t.Errorf("the escaped name is missing")
	}
	if n := strings.Count(page, `<svg class="chart"`); n != 3 {
		t.Errorf("%d charts, want 3 (heap and RSS, and one per suspect)", n)
	}
	for _, want := range []string{`id="growth"`, "resident memory (RSS)", "max 120.0 MiB"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %q", want)
		}
	}
}

// TestLeakSummaryLists checks that leaks.json's lists are never null.
func TestLeakSummaryLists(t *testing.T) {
	flat := func(int) int64 { return mib }
	data, err := json.Marshal(Analyze(synth(3, synthSite{"main.flat", flat, nil})).Summary("u"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"suspects":[]`, `"churn":[]`, `"schema":1`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("%s does not contain %s", data, want)
		}
	}
	if bytes.Contains(data, []byte(`"rss"`)) {
		t.Errorf("%s has rss without --pid", data)
	}
}

// TestLeakWriteHTMLTooShort checks that the page of a watch too short to
// judge says so, with the note, and gives the sampling rate and how to
// raise it.
func TestLeakWriteHTMLTooShort(t *testing.T) {
	grow := func(i int) int64 { return int64(i) * mib }
	snaps := synth(2, synthSite{"main.leak", grow, keeps(grow)})
	for i := range snaps {
		snaps[i].Period = DefaultMemProfileRate
	}
	res := Analyze(snaps)
	s := res.Summary("u")
	s.Note = "2 snapshots, and a suspect needs at least 5; watch <longer>"
	var buf bytes.Buffer
	if err := WriteHTML(&buf, s, res); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`<p class="error" id="too-short">Too short to judge: 2 snapshots, and a suspect needs at least 5; watch &lt;longer&gt;.</p>`,
		"The server samples one allocation per 512.0 KiB on average (runtime.MemProfileRate = 524288); a site growing by less than about 4.5 MiB in small objects cannot be told from noise (3 sigma).",
		"To sample more often, set runtime.MemProfileRate = 64 &lt;&lt; 10 as the first statement of the server&#39;s main",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %q", want)
		}
	}
	if strings.Contains(page, "No allocation site grew steadily") {
		t.Errorf("the page says no site grew, of a watch too short to tell")
	}
}
