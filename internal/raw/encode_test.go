package raw

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// fill sets every field of v, recursively, to a value that is not zero, so
// that no field can be left out of an encoder unnoticed.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), n)
		}
	case reflect.String:
		v.SetString("f<&>\"\\\n\x01é\u2028\xff" + string(rune('a'+*n%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n) * 1_000_003)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(uint64(*n) * 7_000_001)
	case reflect.Float64:
		v.SetFloat(0.9)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), n)
		v.Set(p)
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// TestEncodeMatchesEncodingJSON holds the hand-written encoders to
// encoding/json's output, byte for byte, with every field set and with
// every field zero (omitempty).
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	for _, f := range []File{&Profile{}, &History{}, &Moments{}, &Start{}, &Exit{}, &Blocked{}} {
		zero := Encode(f)
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(zero, want) {
			t.Errorf("%T zero:\n got %s\nwant %s", f, zero, want)
		}
		n := 0
		fill(reflect.ValueOf(f).Elem(), &n)
		got := Encode(f)
		want, err = json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T filled:\n got %s\nwant %s", f, got, want)
		}
	}
}

// TestStreamsEncodeAsCollected: a file written from a stream, a piece at
// a time through a writer, is the file of what the stream collects.
func TestStreamsEncodeAsCollected(t *testing.T) {
	stacks := [][]int{{0, 1}, {1}, {}}
	prof := &Profile{Version: Version, Reason: "gc", Frames: []Frame{{Func: "a"}, {Func: "b"}}}
	ps := ProfileStream{Profile: prof, EachStack: func(yield func(*Stack)) {
		for i, fs := range stacks {
			yield(&Stack{Frames: fs, Bytes: int64(i) << 40, Truncated: i == 1})
		}
	}}
	hs := HistoryStream{History: &History{Version: Version, Frames: []Frame{}},
		EachStack: func(yield func([]int)) {
			for _, fs := range stacks {
				yield(fs)
			}
		},
		EachPoint: func(yield func(*HistoryPoint)) {
			yield(&HistoryPoint{AtNS: 1, Values: [][3]int64{{0, 1, 2}}})
			yield(&HistoryPoint{AtNS: 2, Values: [][3]int64{}})
		}}
	ms := MomentsStream{Moments: &Moments{Version: Version, Frames: []Frame{}},
		EachStack: hs.EachStack,
		EachMoment: func(yield func(*Moment)) {
			for i := 0; i < 3000; i++ { // more than the encoder holds
				yield(&Moment{Cycle: uint32(i), Changes: [][4]int64{{int64(i), 1, 2, 3}}})
			}
		}}
	// Changes given one at a time, as many as the moment's cycle: none for
	// the first.
	var cycle uint32
	msc := MomentsStream{Moments: ms.Moments, EachStack: hs.EachStack,
		EachMoment: func(yield func(*Moment)) {
			for i := 0; i < 100; i++ {
				cycle = uint32(i)
				yield(&Moment{Cycle: cycle})
			}
		},
		EachChange: func(yield func([4]int64)) {
			for j := uint32(0); j < cycle; j++ {
				yield([4]int64{int64(j), 1, 2, int64(cycle)})
			}
		}}
	for _, c := range []struct {
		stream    File
		collected File
	}{{ps, ps.Collect()}, {hs, hs.Collect()}, {ms, ms.Collect()}, {msc, msc.Collect()}} {
		var w bytes.Buffer
		if err := encodeTo(&w, c.stream); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(c.collected)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.Bytes(), want) || !bytes.Equal(Encode(c.stream), want) {
			t.Errorf("%T: the stream encodes as\n%s\nwhat it collects as\n%s", c.stream, w.Bytes(), want)
		}
	}
}
