package ofd_test

import (
	"testing"

	vofd "elicense/verifier/ofd"
)

// FuzzVerify feeds package bytes to the whole verifier: never a panic, a
// verdict always.
func FuzzVerify(f *testing.F) {
	for _, tc := range samples[:2] {
		f.Add(readSample(f, tc.file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _ := vofd.Verify(data, vofd.Options{AtSigningTime: true})
		if r == nil || r.Verdict == "" {
			t.Fatal("no verdict")
		}
	})
}
