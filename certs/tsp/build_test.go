package tsp_test

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"elicense/certs/tsp"
	"elicense/internal/gm"
)

// TestBuildParse: what Build writes, Parse reads back field by field,
// and the signature covers what SignedMessage says.
func TestBuildParse(t *testing.T) {
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	der, err := gm.CreateCertificate(&gm.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "TSA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []gm.ExtKeyUsage{gm.ExtKeyUsageTimeStamping}},
		&gm.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "TSA"}}, key.PublicKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	imprint := gm.SM3([]byte("a signature value"))
	for _, noAttrs := range []bool{false, true} {
		tok, err := tsp.Build(tsp.Stamp{Imprint: imprint[:], GenTime: now.Add(123 * time.Millisecond), Policy: asn1.ObjectIdentifier{1, 2, 3, 4}, Serial: 42,
			TSA: cert, Signer: key, NoSignedAttrs: noAttrs})
		if err != nil {
			t.Fatal(err)
		}
		p, err := tsp.Parse(tok)
		if err != nil {
			t.Fatalf("noAttrs %v: %v", noAttrs, err)
		}
		if !bytes.Equal(p.Info.HashedMessage, imprint[:]) || p.Info.SerialNumber.Int64() != 42 || !p.Info.GenTime.Equal(now) || len(p.Certificates) != 1 || !bytes.Equal(p.Certificates[0], der) {
			t.Errorf("noAttrs %v: read back %+v", noAttrs, p.Info)
		}
		if err := gm.Verify(key.PublicKey(), p.SignedMessage(), p.Signer.Signature); err != nil {
			t.Errorf("noAttrs %v: the signature does not cover SignedMessage: %v", noAttrs, err)
		}
	}
	if _, err := tsp.Build(tsp.Stamp{Imprint: imprint[:]}); err == nil || errors.Is(err, tsp.ErrMalformed) {
		t.Errorf("a stamp without a TSA or signer: %v", err)
	}
}
