package ofd_test

import (
	"testing"
	"time"

	vofd "elicense/verifier/ofd"
)

// FuzzVerify feeds package bytes to the whole verifier: never a panic, a
// verdict always, and within a time budget (what the counter allows
// one document is far more).
func FuzzVerify(f *testing.F) {
	for _, tc := range samples[:2] {
		f.Add(readSample(f, tc.file))
	}
	f.Add(repeatedRefs(f, 3, 100, 1))
	f.Add(repeatedRefs(f, 1, 100, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		r, _ := vofd.Verify(data, vofd.Options{AtSigningTime: true})
		if r == nil || r.Verdict == "" {
			t.Fatal("no verdict")
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("%d bytes took %v", len(data), el)
		}
	})
}
