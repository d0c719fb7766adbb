package build

import "testing"

// TestSettingsFoundAgain: the string Settings makes is what bakedSettings
// finds, whole, among other bytes.
func TestSettingsFoundAgain(t *testing.T) {
	for _, s := range []string{
		Settings("(devel) go1.26.8", 65536, "0.9", 20, ""),
		Settings("v1.2.3 (abc, 2026-12-06) go1.26.8", 16384, "off", 0, `/var/lib/gofil "x"`),
	} {
		data := append(append([]byte("\x00\x01other strings"), s...), "next string\x00"...)
		if got := string(bakedSettings().Find(data)); got != s {
			t.Errorf("found %q in the data, want %q", got, s)
		}
	}
}
