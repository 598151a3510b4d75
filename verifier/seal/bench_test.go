package seal_test

// Benchmarks, benchstat-friendly:
//
//	go test -run='^$' -bench=. -benchtime=2s -count=6 ./verifier/seal/ | tee new.txt

import (
	"testing"

	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/verifier/seal"
)

// BenchmarkVerifySignature is the full verification of a sealed document
// (a 1 KiB application with the round-picture-sized seal): parse, two
// certificates, the signer's and the maker's SM2 signatures, the maker's
// chain (one more SM2 verification), validity, SM3 of the document.
func BenchmarkVerifySignature(b *testing.B) {
	w := newWorld(b)
	doc := make([]byte, 1024)
	copy(doc, w.doc)
	// A 20 KB picture, the size of a real seal image.
	p := w.sealParams(w.nb.Add(1), w.na.Add(-1), w.signer.der)
	p.Picture = make([]byte, 20<<10)
	info, err := ses.NewSealInfo(p)
	if err != nil {
		b.Fatal(err)
	}
	s, err := ses.SignSeal(info, w.maker.der, w.maker.key)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := ses.SignDocument(s, w.signer.der, w.signer.key, doc, w.signedAt, "doc")
	if err != nil {
		b.Fatal(err)
	}
	opts := w.opts()
	b.SetBytes(int64(len(sig.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seal.Verify(sig.Raw, doc, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSignature is the decoding share of the above.
func BenchmarkParseSignature(b *testing.B) {
	w := newWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ses.ParseSignature(w.sig.Raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSM2Verify is one bare SM2 verification, for scale.
func BenchmarkSM2Verify(b *testing.B) {
	w := newWorld(b)
	pub := w.signer.key.PublicKey()
	for b.Loop() {
		if err := gm.Verify(pub, w.sig.RawTBSSign, w.sig.Value); err != nil {
			b.Fatal(err)
		}
	}
}
