package identtest

import (
	"testing"

	"elicense/certs/ident"
)

func TestUSCC(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		if n := Scatter(i); seen[USCC(n)] {
			t.Fatalf("Scatter(%d) = %d repeats", i, n)
		} else {
			seen[USCC(n)] = true
		}
	}
	clear(seen)
	for _, n := range []int{0, 1, 2, 99, 123456, 999999} {
		c := USCC(n)
		if err := ident.ValidateUSCC(c); err != nil {
			t.Errorf("USCC(%d) = %s: %v", n, c, err)
		}
		if seen[c] {
			t.Errorf("USCC(%d) = %s repeats", n, c)
		}
		seen[c] = true
	}
}
