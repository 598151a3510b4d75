package trust

import (
	"testing"

	"elicense/internal/gm"
)

// BenchmarkIssuerKeys is the verifier's hot-path key lookup.
func BenchmarkIssuerKeys(b *testing.B) {
	f := newFixture(b)
	bundle, err := Verify(f.sign(b, f.bundle(1)), f.opts())
	if err != nil {
		b.Fatal(err)
	}
	r := bundle.Resolver()
	kid := gm.KeyIDString(f.marketDER)
	for b.Loop() {
		if len(r.IssuerKeys(kid)) != 1 {
			b.Fatal("no key")
		}
	}
}

// BenchmarkVerify is a counter's check of a new bundle (two agencies, four
// agency keys, a ledger key).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	tok := f.sign(b, f.bundle(1))
	o := f.opts()
	for b.Loop() {
		if _, err := Verify(tok, o); err != nil {
			b.Fatal(err)
		}
	}
}
