package withmain

import (
	"os"
	"testing"
)

// FixtureBytes is what TestMain holds for every test: it runs in every
// process, the one of no test too, and so is no test's retained bytes.
const FixtureBytes = 4 << 20

var fixture []byte

func TestMain(m *testing.M) {
	fixture = make([]byte, FixtureBytes)
	os.Exit(m.Run())
}

func TestUsesFixture(t *testing.T) {
	if len(fixture) != FixtureBytes {
		t.Fatal("no fixture")
	}
}
