package flamegraph

import (
	"testing"

	"github.com/gofil/gofil/internal/units"
)

func TestAppendHuman(t *testing.T) {
	for _, c := range []struct {
		n    int64
		unit string
		want string
	}{
		{0, "bytes", "0 B"},
		{1023, "bytes", "1023 B"},
		{1024, "bytes", "1.0 KiB"},
		{1536, "bytes", "1.5 KiB"},
		{3 << 20, "bytes", "3.0 MiB"},
		{5 << 30, "bytes", "5.00 GiB"},
		{1 << 62, "bytes", "4.00 EiB"},
		{1234567, "objects", "1,234,567 objects"},
		{12, "<a&b>", "12 &lt;a&amp;b&gt;"},
	} {
		if got := string(appendHuman(nil, c.n, c.unit)); got != c.want {
			t.Errorf("appendHuman(%d, %q) = %q, want %q", c.n, c.unit, got, c.want)
		}
	}
}

func TestAppendGrouped(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1234: "-1,234",
	} {
		if got := string(units.AppendGrouped(nil, n)); got != want {
			t.Errorf("units.AppendGrouped(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAppendCoord(t *testing.T) {
	for x, want := range map[float64]string{
		0: "0", 10: "10", 10.5: "10.5", 10.25: "10.25", 10.004: "10", 1179.999: "1180", -0.001: "0", 0.126: "0.13",
	} {
		if got := string(appendCoord(nil, x)); got != want {
			t.Errorf("appendCoord(%v) = %q, want %q", x, got, want)
		}
	}
}

func TestAppendEscaped(t *testing.T) {
	in := "a<b>&\"'\n\t\r\x01\xff\uFFFE é"
	if got, want := string(appendEscaped(nil, in, false)), "a&lt;b&gt;&amp;&quot;&#39;\n\t&#13;\uFFFD\uFFFD\uFFFD é"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	if got, want := string(appendEscaped(nil, in, true)), "a&lt;b&gt;&amp;&quot;&#39;&#10;&#9;&#13;\uFFFD\uFFFD\uFFFD é"; got != want {
		t.Errorf("attribute: got %q, want %q", got, want)
	}
}

func TestFitLabel(t *testing.T) {
	name := "encoding/json.(*decodeState).object"
	room := func(chars int) float64 { return 2*textPad + float64(chars)*charWidth + 0.01 }
	for _, c := range []struct {
		w    float64
		want string
	}{
		{10, ""},
		{room(2), ""},
		{room(3), "e.."},
		{room(10), "encoding.."},
		{room(len(name) - 1), name[:len(name)-3] + ".."},
		{room(len(name)), name},
		{1000, name},
	} {
		if got := fitLabel(name, c.w); got != c.want {
			t.Errorf("fitLabel(%v) = %q, want %q", c.w, got, c.want)
		}
	}
	if got := fitLabel("ééééééé", room(5)); got != "ééé.." {
		t.Errorf("fitLabel cuts multi-byte runes badly: %q", got)
	}
}
