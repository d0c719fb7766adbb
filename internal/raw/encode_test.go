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
	for _, f := range []File{&Profile{}, &History{}, &Moments{}, &Start{}, &Exit{}} {
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
