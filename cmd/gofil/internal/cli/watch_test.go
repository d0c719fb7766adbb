package cli

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	if got := redactURL("http://me:secret@127.0.0.1:6060/debug/pprof/heap?gc=1"); strings.Contains(got, "secret") {
		t.Errorf("redactURL kept the password: %s", got)
	}
	if got := redactURL("http://127.0.0.1:6060/debug/pprof/heap?gc=1"); got != "http://127.0.0.1:6060/debug/pprof/heap?gc=1" {
		t.Errorf("redactURL changed a URL without a password: %s", got)
	}
}
