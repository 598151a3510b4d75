package mobilesdk

import (
	"testing"

	"elicense/internal/issuertest"
)

// benchWallet claims a business licence from a real issuer into a
// memory wallet.
func benchWallet(b *testing.B) (*Wallet, string) {
	s := issuertest.Start(b)
	w, err := OpenStorage(NewMemoryStorage(), "bench passphrase")
	if err != nil {
		b.Fatal(err)
	}
	l, err := w.Claim(s.URL, s.Issue(b, "business-license").ClaimCode)
	if err != nil {
		b.Fatal(err)
	}
	return w, l.ID
}

// BenchmarkPresent measures one presentation: reading the sealed entry,
// the device signature and the encoding.
func BenchmarkPresent(b *testing.B) {
	w, id := benchWallet(b)
	for b.Loop() {
		if _, err := w.Present(id, "", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQRPNG measures rendering a default presentation to PNG at
// 4 pixels per module.
func BenchmarkQRPNG(b *testing.B) {
	w, id := benchWallet(b)
	p, err := w.Present(id, "", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p.Text)))
	for b.Loop() {
		if _, err := QRPNG(p.Text, 4); err != nil {
			b.Fatal(err)
		}
	}
}
