package proccpu

import (
	"crypto/sha256"
	"testing"
)

func TestUsedGrows(t *testing.T) {
	before := Used()
	if before <= 0 {
		t.Fatalf("Used() = %v before any work", before)
	}
	var sum [32]byte
	for i := 0; i < 200000; i++ {
		sum = sha256.Sum256(sum[:])
	}
	if after := Used(); after <= before {
		t.Fatalf("Used() did not grow after hashing: %v then %v", before, after)
	}
}
