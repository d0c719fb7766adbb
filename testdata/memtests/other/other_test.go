package other_test

import "testing"

func TestSmall(t *testing.T) {
	t.Run("sub", func(t *testing.T) { t.Parallel() })
}
