package trust

import (
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"

	"elicense/certs/agencycert"
	"elicense/internal/gm"
)

// receiptCert makes a certificate for key by the fixture's root with the
// given role extension and key usage.
func (p *testPKI) receiptCert(t testing.TB, key *gm.PrivateKey, role agencycert.Role, usage gm.KeyUsage, nb, na time.Time) []byte {
	t.Helper()
	p.serial++
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: "elicense receipt key"},
		NotBefore: nb, NotAfter: na, KeyUsage: usage, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{roleExt(t, role)},
	}
	der, err := gm.CreateCertificate(tmpl, p.root, key.PublicKey(), p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestReceiptKey(t *testing.T) {
	f := newFixture(t)
	k := newKey(t)
	good := f.receiptCert(t, k, agencycert.RoleReceipt, gm.KeyUsageKeyEncipherment, t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	expired := f.receiptCert(t, k, agencycert.RoleReceipt, gm.KeyUsageKeyEncipherment, t0.Add(-48*time.Hour), t0.Add(-time.Minute))
	other := newPKI(t)
	foreign := other.receiptCert(t, k, agencycert.RoleReceipt, gm.KeyUsageKeyEncipherment, t0.Add(-time.Hour), t0.Add(365*24*time.Hour))

	// Without one: an older issuer's bundle reads as before.
	b, err := Verify(f.sign(t, f.bundle(1)), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := b.ReceiptPublicKey(t0); ok {
		t.Fatal("a bundle without receipt_key gives a receipt key")
	}

	tests := []struct {
		name string
		key  *Key
		want error
	}{
		{"good", &Key{KID: gm.KeyIDString(good), Cert: good}, nil},
		{"ledger certificate", &Key{KID: gm.KeyIDString(f.ledgerDER), Cert: f.ledgerDER}, ErrMalformed}, // listed twice
		{"agency certificate", &Key{KID: gm.KeyIDString(f.policeDER), Cert: f.policeDER}, ErrMalformed},
		{"kid of another certificate", &Key{KID: gm.KeyIDString(f.rootDER), Cert: good}, ErrKeyIDMismatch},
		{"under another root", &Key{KID: gm.KeyIDString(foreign), Cert: foreign}, ErrUntrustedKey},
		{"not a certificate", &Key{KID: "00", Cert: []byte{1, 2, 3}}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd := f.bundle(2)
			bd.ReceiptKey = tt.key
			tok, err := signUnchecked(t, f, bd)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Verify(tok, f.opts())
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify: %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pub, kid, ok := got.ReceiptPublicKey(t0)
			if !ok || kid != tt.key.KID || !pub.Equal(k.Public()) {
				t.Fatalf("ReceiptPublicKey = %v, %q, %v", pub != nil, kid, ok)
			}
		})
	}
	// An expired receipt key: the bundle verifies (counters go on
	// checking), and no receipt is sealed to it.
	bd0 := f.bundle(4)
	bd0.ReceiptKey = &Key{KID: gm.KeyIDString(expired), Cert: expired}
	tok0, err := signUnchecked(t, f, bd0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(tok0, f.opts())
	if err != nil {
		t.Fatalf("a bundle with an expired receipt key: %v", err)
	}
	if _, _, ok := got.ReceiptPublicKey(t0); ok {
		t.Fatal("an expired receipt key is offered for sealing")
	}
	// A certificate with the ledger role in receipt_key: not listed twice,
	// refused for its role.
	lk := newKey(t)
	ledger2 := f.issue(t, "second ledger", lk, roleExt(t, agencycert.RoleLedger), t0.Add(-time.Hour), t0.Add(time.Hour*48))
	bd := f.bundle(3)
	bd.ReceiptKey = &Key{KID: gm.KeyIDString(ledger2), Cert: ledger2}
	tok, _ := signUnchecked(t, f, bd)
	if _, err := Verify(tok, f.opts()); !errors.Is(err, ErrUntrustedKey) {
		t.Fatalf("ledger-role receipt_key: %v, want ErrUntrustedKey", err)
	}
}

// signUnchecked signs b as Sign does, without Sign's own verification, so
// that a test can make bundles a counter must refuse.
func signUnchecked(t *testing.T, f *fixture, b *Bundle) (string, error) {
	t.Helper()
	b.BundleSigner = f.chain()
	payload, err := json.Marshal(b)
	if err != nil {
		return "", err
	}
	return forge(t, f.ledgerKey, f.chain(), payload), nil
}
