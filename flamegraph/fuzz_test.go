package flamegraph

import (
	"bytes"
	"io"
	"testing"
)

// FuzzParseFolded: ParseFolded never panics; what it accepts renders or is
// refused with an error, and folds back to stacks that parse again to the
// same total.
func FuzzParseFolded(f *testing.F) {
	f.Add([]byte("main;main.load;make 1048576\nmain;main.index 2048\n"))
	f.Add([]byte("a;b 1\r\n\n;; 3\nx -4\n"))
	f.Add([]byte("  7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		samples, err := ParseFolded(bytes.NewReader(data))
		if err != nil {
			return
		}
		Render(io.Discard, samples, Options{})
		var total int64
		for _, s := range samples {
			total += s.Bytes
		}
		again, err := ParseFolded(bytes.NewReader(Fold(samples)))
		if err != nil {
			t.Fatalf("the folded form of what was parsed does not parse: %v", err)
		}
		var back int64
		for _, s := range again {
			back += s.Bytes
		}
		if back != total {
			t.Fatalf("folded back, the stacks hold %d bytes, not %d", back, total)
		}
	})
}
