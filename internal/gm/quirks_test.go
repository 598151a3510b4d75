package gm_test

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/internal/gm"
)

// A leaf whose subject holds an e-mail address written as an IA5String
// with UTF-8 in it, as some CAs issue and OpenSSL reads.
func TestParseCertificateIA5UTF8(t *testing.T) {
	c := newChain(t)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{2, 5, 4, 3})
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte("签章人")) })
			})
		})
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1})
				b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte("张三@例子.中国")) })
			})
		})
	})
	subject := b.BytesOrPanic()
	key := newKey(t)
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(7), RawSubject: subject,
		NotBefore: c.notBefore, NotAfter: c.notAfter, KeyUsage: gm.KeyUsageDigitalSignature,
	}
	der, err := gm.CreateCertificate(tmpl, c.root, key.PublicKey(), c.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := smx509.ParseCertificate(der); err == nil {
		t.Fatal("the library parser accepts it now: the tolerant path is not needed")
	}
	cert, quirks, err := gm.ParseCertificateQuirks(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(quirks) != 1 || !strings.Contains(quirks[0], "subject attribute 1.2.840.113549.1.9.1 is an IA5String") {
		t.Fatalf("quirks %q", quirks)
	}
	if !bytes.Equal(cert.Raw, der) || !bytes.Equal(cert.RawSubject, subject) || cert.Subject.CommonName != "签章人" {
		t.Fatal("raw bytes or subject not as written")
	}
	if n := cert.Subject.Names; len(n) != 2 || n[1].Value != "张三@例子.中国" {
		t.Errorf("subject names %v", n)
	}
	if err := gm.VerifyChain(cert, []*gm.Certificate{c.root}, nil, time.Now()); err != nil {
		t.Fatalf("the issuer's signature over the bytes as written: %v", err)
	}
	if _, err := gm.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	// A plain certificate has no quirk; garbage is still refused.
	if _, q, err := gm.ParseCertificateQuirks(c.leafDER); err != nil || len(q) != 0 {
		t.Fatalf("plain leaf: %q %v", q, err)
	}
	if _, _, err := gm.ParseCertificateQuirks(der[:len(der)-3]); err == nil {
		t.Fatal("truncated certificate accepted")
	}
}
