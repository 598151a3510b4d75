package credential

import (
	"testing"

	"elicense/internal/gm"
)

func BenchmarkSignCredential(b *testing.B) {
	f := newFixture(b)
	l := f.license(b, businessFields())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(l, SignOptions{Signer: f.key, KeyID: testKID}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCredential is held to at most 1.3 × BenchmarkBareVerify
// (DESIGN.md §10): the JWS, JSON and field checks around one SM2 verify.
func BenchmarkVerifyCredential(b *testing.B) {
	f := newFixture(b)
	tok := f.sign(b, f.license(b, businessFields()))
	opts := VerifyOptions{Keys: f.keys, Now: during}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(tok, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareVerify is one SM2 verification of a message the size of the
// credential's signing input, the floor for BenchmarkVerifyCredential.
func BenchmarkBareVerify(b *testing.B) {
	f := newFixture(b)
	tok := f.sign(b, f.license(b, businessFields()))
	msg := []byte(tok[:len(tok)-87])
	sig, _ := gm.SignRS(f.key, msg)
	b.ReportAllocs()
	for b.Loop() {
		if err := gm.VerifyRS(f.key.PublicKey(), msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewLicense is the catalogue validation and copying an issuer
// pays before signing.
func BenchmarkNewLicense(b *testing.B) {
	f := newFixture(b)
	fields := businessFields()
	b.ReportAllocs()
	for b.Loop() {
		f.license(b, fields)
	}
}

// BenchmarkNewLicenseSign is what an issuer does per credential: build
// and check the licence, then sign it.
func BenchmarkNewLicenseSign(b *testing.B) {
	f := newFixture(b)
	fields := businessFields()
	opts := SignOptions{Signer: f.key, KeyID: testKID}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(f.license(b, fields), opts); err != nil {
			b.Fatal(err)
		}
	}
}
