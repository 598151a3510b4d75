package seal

import (
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// TestTimestampVector verifies a token that another CMS implementation
// signed (certs/tsp/testdata/README.md): imprint, messageDigest, the SM2
// signature over the signed attributes, and the chain at genTime (which
// decides only whether it is trusted).
func TestTimestampVector(t *testing.T) {
	const dir = "../../certs/tsp/testdata/"
	read := func(name string) []byte {
		b, err := os.ReadFile(dir + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	token, value := read("gmsm-pkcs7.tst"), read("value.bin")
	roots, err := gm.ParseCertificatesPEM(read("tsa-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	genTime := time.Date(2026, 12, 6, 23, 25, 50, 0, time.UTC)

	ts, err := checkTimestamp(token, value, roots, nil)
	if err != nil || !ts.trusted || !ts.genTime.Equal(genTime) || ts.tsa.Subject.CommonName != "Test TSA" {
		t.Fatalf("with the root: %v %+v", err, ts)
	}
	if ts, err := checkTimestamp(token, value, nil, nil); err != nil || ts.trusted {
		t.Fatalf("without roots: %v %+v", err, ts)
	}
	if _, err := checkTimestamp(token, append(value, '.'), roots, nil); err == nil {
		t.Fatal("a token over other bytes verified")
	}
	// One byte of the signature value flipped.
	bad := append([]byte(nil), token...)
	bad[len(bad)-1] ^= 1
	if _, err := checkTimestamp(bad, value, roots, nil); err == nil {
		t.Fatal("a changed signature verified")
	}
	// Under another root of the same name: checked, valid, not trusted.
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TSA root"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: genTime.Add(-time.Hour), NotAfter: genTime.Add(time.Hour),
	}
	der, err := gm.CreateCertificate(tmpl, tmpl, key.PublicKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	other, err := gm.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := checkTimestamp(token, value, []*gm.Certificate{other}, nil); err != nil || ts.trusted || !errors.Is(ts.chainErr, gm.ErrUntrusted) {
		t.Fatalf("under another root of the same name: %v %+v", err, ts)
	}
	if _, err := checkTimestamp(token[:len(token)-1], value, roots, nil); err == nil || errors.Is(err, ses.ErrUnsupportedAlgorithm) {
		t.Fatalf("truncated token: %v", err)
	}
}
