package tsp_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"elicense/certs/tsp"
	"elicense/internal/gm"
)

// TestVector parses the token another implementation wrote
// (testdata/README.md).
func TestVector(t *testing.T) {
	der := readFile(t, "testdata/gmsm-pkcs7.tst")
	tok, err := tsp.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	in := tok.Info
	imprint := gm.SM3(readFile(t, "testdata/value.bin"))
	if in.Version != 1 || !in.Policy.Equal(asn1.ObjectIdentifier{1, 2, 3, 4, 1}) || !in.HashAlgorithm.Equal(oidSM3) ||
		!bytes.Equal(in.HashedMessage, imprint[:]) || in.SerialNumber.Int64() != 20260425 ||
		!in.GenTime.Equal(time.Date(2026, 12, 6, 23, 25, 50, 0, time.UTC)) {
		t.Errorf("TSTInfo %+v", in)
	}
	if !tok.ContentType.Equal(tsp.OIDSignedDataGM) || tok.Version != 1 {
		t.Errorf("content type %v version %d", tok.ContentType, tok.Version)
	}
	block, _ := pem.Decode(readFile(t, "testdata/tsa.pem"))
	if len(tok.Certificates) != 1 || !bytes.Equal(tok.Certificates[0], block.Bytes) {
		t.Fatalf("certificates: %d", len(tok.Certificates))
	}
	cert, err := gm.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	si := tok.Signer
	if !bytes.Equal(si.SID.Issuer, cert.RawIssuer) || si.SID.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("sid %+v", si.SID)
	}
	if !si.DigestAlgorithm.Equal(oidSM3) || !si.SignatureAlgorithm.Equal(oidSM2Sign) || len(si.SignedAttrs) != 3 {
		t.Errorf("SignerInfo %+v", si)
	}
	var digest []byte
	for _, a := range si.SignedAttrs {
		if a.Type.Equal(tsp.OIDMessageDigest) {
			digest = a.Values[0]
		}
	}
	want := gm.SM3(tok.RawTSTInfo)
	if !bytes.Equal(digest, octets(want[:])) {
		t.Errorf("messageDigest %x, want SM3 of the TSTInfo", digest)
	}
	if err := gm.Verify(cert.PublicKey.(*ecdsa.PublicKey), tok.SignedMessage(), si.Signature); err != nil {
		t.Errorf("the signature over SignedMessage does not verify: %v", err)
	}
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkParse(b *testing.B) {
	der := readFile(b, "testdata/gmsm-pkcs7.tst")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tsp.Parse(der); err != nil {
			b.Fatal(err)
		}
	}
}
