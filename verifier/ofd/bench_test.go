package ofd_test

import (
	"testing"

	vofd "elicense/verifier/ofd"
)

// BenchmarkVerifyOFD opens and verifies each sample, trusted, as of signing.
func BenchmarkVerifyOFD(b *testing.B) {
	for _, tc := range samples {
		data := readSample(b, tc.file)
		opts := vofd.Options{Trusted: sampleTrust(b, data), AtSigningTime: true}
		b.Run(tc.file, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if r, _ := vofd.Verify(data, opts); r.Verdict != vofd.Valid {
					b.Fatal(r.Verdict)
				}
			}
		})
	}
}
