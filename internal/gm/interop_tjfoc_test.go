package gm_test

// Interoperability with github.com/tjfoc/gmsm v1.4.1, an independent SM2/SM3
// implementation kept in the module for tests only (DESIGN.md §3): whatever
// gm produces must be accepted by it, and whatever it produces must be
// accepted by gm.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	tjsm2 "github.com/tjfoc/gmsm/sm2"
	tjsm3 "github.com/tjfoc/gmsm/sm3"
	tjx509 "github.com/tjfoc/gmsm/x509"

	"elicense/internal/gm"
)

// toTjfocPub converts a gm (ecdsa, SM2 curve) public key to tjfoc's type.
func toTjfocPub(pub *ecdsa.PublicKey) *tjsm2.PublicKey {
	un, err := gm.MarshalPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return &tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: new(big.Int).SetBytes(un[1:33]), Y: new(big.Int).SetBytes(un[33:])}
}

// sameTjfocPub reports whether tjfoc's key tp is the gm key pub.
func sameTjfocPub(tp *tjsm2.PublicKey, pub *ecdsa.PublicKey) bool {
	want := toTjfocPub(pub)
	return tp.X.Cmp(want.X) == 0 && tp.Y.Cmp(want.Y) == 0
}

// fromTjfocPub converts a tjfoc public key to gm's type through the
// uncompressed point encoding, so gm's own on-curve checks apply.
func fromTjfocPub(t *testing.T, pub *tjsm2.PublicKey) *ecdsa.PublicKey {
	t.Helper()
	b := make([]byte, 65)
	b[0] = 4
	pub.X.FillBytes(b[1:33])
	pub.Y.FillBytes(b[33:])
	p, err := gm.ParsePublicKey(b)
	if err != nil {
		t.Fatalf("gm.ParsePublicKey(tjfoc key): %v", err)
	}
	return p
}

// toTjfocPriv converts a gm private key to tjfoc's type.
func toTjfocPriv(k *gm.PrivateKey) *tjsm2.PrivateKey {
	pub := toTjfocPub(k.PublicKey())
	return &tjsm2.PrivateKey{PublicKey: *pub, D: new(big.Int).SetBytes(k.Bytes())}
}

func newTjfocKey(t testing.TB) *tjsm2.PrivateKey {
	t.Helper()
	k, err := tjsm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTjfocSignaturesFromGM(t *testing.T) {
	messages := [][]byte{
		nil,
		[]byte("营业执照 1.2.156.3005.2"),
		bytes.Repeat([]byte{0xa5}, 256),
		bytes.Repeat([]byte("x"), 4097),
	}
	for i := 0; i < 4; i++ {
		k := newKey(t)
		tpub := toTjfocPub(k.PublicKey())
		for _, msg := range messages {
			der, err := gm.Sign(k, msg)
			if err != nil {
				t.Fatal(err)
			}
			if !tpub.Verify(msg, der) {
				t.Fatalf("tjfoc rejects gm signature %x over %d bytes", der, len(msg))
			}
			if tpub.Verify(append(bytes.Clone(msg), 0), der) {
				t.Fatal("tjfoc accepts gm signature over another message")
			}
			// r‖s form, as in JWS, through tjfoc's explicit-UID API.
			rs, err := gm.SignRS(k, msg)
			if err != nil {
				t.Fatal(err)
			}
			r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
			if !tjsm2.Sm2Verify(tpub, msg, []byte(gm.DefaultUID), r, s) {
				t.Fatal("tjfoc rejects gm r‖s signature")
			}
		}
	}
}

func TestTjfocSignaturesWithUID(t *testing.T) {
	uid := []byte("ALICE123@YAHOO.COM")
	msg := []byte("message digest")

	k := newKey(t)
	der, err := k.Sign(rand.Reader, msg, &gm.SignerOpts{UID: uid})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := gm.DERToRS(der)
	if err != nil {
		t.Fatal(err)
	}
	r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
	tpub := toTjfocPub(k.PublicKey())
	if !tjsm2.Sm2Verify(tpub, msg, uid, r, s) {
		t.Fatal("tjfoc rejects gm signature made with an explicit UID")
	}
	if tpub.Verify(msg, der) {
		t.Fatal("tjfoc accepts a non-default-UID signature under the default UID")
	}

	tk := newTjfocKey(t)
	tr, ts, err := tjsm2.Sm2Sign(tk, msg, uid, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tder, err := gm.RSToDER(append(tr.FillBytes(make([]byte, 32)), ts.FillBytes(make([]byte, 32))...))
	if err != nil {
		t.Fatal(err)
	}
	pub := fromTjfocPub(t, &tk.PublicKey)
	if err := gm.VerifyWithUID(pub, uid, msg, tder); err != nil {
		t.Fatalf("gm rejects tjfoc signature made with an explicit UID: %v", err)
	}
	if err := gm.Verify(pub, msg, tder); !errors.Is(err, gm.ErrInvalidSignature) {
		t.Fatalf("default UID: got %v, want ErrInvalidSignature", err)
	}
}

func TestGMVerifiesTjfocSignatures(t *testing.T) {
	for i := 0; i < 4; i++ {
		tk := newTjfocKey(t)
		pub := fromTjfocPub(t, &tk.PublicKey)
		for _, msg := range [][]byte{nil, []byte("abc"), bytes.Repeat([]byte{1}, 1000)} {
			der, err := tk.Sign(rand.Reader, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := gm.Verify(pub, msg, der); err != nil {
				t.Fatalf("gm rejects tjfoc signature %x: %v", der, err)
			}
			rs, err := gm.DERToRS(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := gm.VerifyRS(pub, msg, rs); err != nil {
				t.Fatalf("gm rejects tjfoc signature as r‖s: %v", err)
			}
			if err := gm.Verify(pub, append(bytes.Clone(msg), '!'), der); !errors.Is(err, gm.ErrInvalidSignature) {
				t.Fatalf("other message: got %v, want ErrInvalidSignature", err)
			}
		}
	}
}

// TestTrailingBytesMalleability documents the difference DESIGN.md §3 names:
// tjfoc's Verify ignores bytes after the DER SEQUENCE (so one signature has
// many encodings), gm rejects them as malformed.
func TestTrailingBytesMalleability(t *testing.T) {
	k := newKey(t)
	msg := []byte("licence 42")
	der, err := gm.Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	tpub := toTjfocPub(k.PublicKey())
	for _, tail := range [][]byte{{0}, {0xff}, []byte("trailing junk"), der} {
		long := append(bytes.Clone(der), tail...)
		if !tpub.Verify(msg, long) {
			// If tjfoc ever fixes this, the note in DESIGN.md is stale.
			t.Errorf("tjfoc now rejects a signature with %d trailing bytes; update DESIGN.md §3", len(tail))
		}
		if err := gm.Verify(k.PublicKey(), msg, long); !errors.Is(err, gm.ErrMalformedSignature) {
			t.Errorf("gm.Verify with %d trailing bytes: got %v, want ErrMalformedSignature", len(tail), err)
		}
	}
}

// tjfocVerifyChain verifies leaf against root with tjfoc's x509 package.
func tjfocVerifyChain(t *testing.T, rootDER, leafDER []byte, at time.Time) {
	t.Helper()
	root, err := tjx509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatalf("tjfoc cannot parse root: %v", err)
	}
	leaf, err := tjx509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatalf("tjfoc cannot parse leaf: %v", err)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Fatalf("tjfoc: root self-signature: %v", err)
	}
	if err := leaf.CheckSignatureFrom(root); err != nil {
		t.Fatalf("tjfoc: leaf signature: %v", err)
	}
	pool := tjx509.NewCertPool()
	pool.AddCert(root)
	if _, err := leaf.Verify(tjx509.VerifyOptions{Roots: pool, CurrentTime: at, KeyUsages: []tjx509.ExtKeyUsage{tjx509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("tjfoc chain verification: %v", err)
	}
}

func TestTjfocReadsGMCertificates(t *testing.T) {
	c := newChain(t)
	tjfocVerifyChain(t, c.rootDER, c.leafDER, time.Now())

	leaf, err := tjx509.ParseCertificate(c.leafDER)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.SignatureAlgorithm != tjx509.SM2WithSM3 {
		t.Errorf("tjfoc sees signature algorithm %v, want SM2-SM3", leaf.SignatureAlgorithm)
	}
	if leaf.Subject.CommonName != c.leaf.Subject.CommonName {
		t.Errorf("tjfoc subject %q, want %q", leaf.Subject.CommonName, c.leaf.Subject.CommonName)
	}
	// tjfoc returns an *ecdsa.PublicKey on its own curve object; compare
	// through its SPKI encoding.
	spki, err := tjx509.MarshalPKIXPublicKey(leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := gm.ParsePKIXPublicKey(spki); err != nil || !pub.Equal(c.leafKey.PublicKey()) {
		t.Errorf("tjfoc reads another public key: %v", err)
	}
}

func TestGMReadsTjfocCertificates(t *testing.T) {
	rootKey, leafKey := newTjfocKey(t), newTjfocKey(t)
	notBefore := time.Now().Add(-time.Hour)
	notAfter := notBefore.Add(2 * time.Hour)
	rootTmpl := &tjx509.Certificate{
		SerialNumber:          big.NewInt(10),
		Subject:               pkix.Name{CommonName: "tjfoc root"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              tjx509.KeyUsageCertSign | tjx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    tjx509.SM2WithSM3,
	}
	rootDER, err := tjx509.CreateCertificate(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	tjRoot, err := tjx509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := tjx509.CreateCertificate(&tjx509.Certificate{
		SerialNumber:       big.NewInt(11),
		Subject:            pkix.Name{CommonName: "tjfoc leaf"},
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           tjx509.KeyUsageDigitalSignature,
		SignatureAlgorithm: tjx509.SM2WithSM3,
	}, tjRoot, &leafKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	// Sanity: tjfoc agrees with itself.
	tjfocVerifyChain(t, rootDER, leafDER, time.Now())

	root, err := gm.ParseCertificate(rootDER)
	if err != nil {
		t.Fatalf("gm cannot parse tjfoc root: %v", err)
	}
	leaf, err := gm.ParseCertificate(leafDER)
	if err != nil {
		t.Fatalf("gm cannot parse tjfoc leaf: %v", err)
	}
	if err := gm.VerifyChain(leaf, []*gm.Certificate{root}, nil, time.Now()); err != nil {
		t.Fatalf("gm.VerifyChain(tjfoc chain): %v", err)
	}
	if err := gm.VerifyChain(leaf, []*gm.Certificate{root}, nil, notAfter.Add(time.Minute)); !errors.Is(err, gm.ErrUntrusted) {
		t.Fatalf("expired tjfoc chain: got %v, want ErrUntrusted", err)
	}
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(fromTjfocPub(t, &leafKey.PublicKey)) {
		t.Fatal("gm reads another public key from the tjfoc leaf")
	}

	// A root and a leaf issued across the two libraries.
	c := newChain(t)
	mixedDER, err := tjx509.CreateCertificate(&tjx509.Certificate{
		SerialNumber:       big.NewInt(12),
		Subject:            pkix.Name{CommonName: "tjfoc leaf under gm root"},
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           tjx509.KeyUsageDigitalSignature,
		SignatureAlgorithm: tjx509.SM2WithSM3,
	}, mustTjfocCert(t, c.rootDER), &leafKey.PublicKey, toTjfocPriv(c.rootKey))
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := gm.ParseCertificate(mixedDER)
	if err != nil {
		t.Fatal(err)
	}
	if err := gm.VerifyChain(mixed, []*gm.Certificate{c.root}, nil, time.Now()); err != nil {
		t.Fatalf("gm root, tjfoc-signed leaf: %v", err)
	}
}

func mustTjfocCert(t *testing.T, der []byte) *tjx509.Certificate {
	t.Helper()
	c, err := tjx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPKCS8WithTjfoc(t *testing.T) {
	// Include a scalar with a leading zero byte: tjfoc writes it short
	// (D.Bytes()), which SEC 1 forbids but OpenSSL once did too.
	shortD := make([]byte, 32)
	shortD[1] = 0x42
	shortD[31] = 7
	short, err := gm.NewPrivateKey(shortD)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*gm.PrivateKey{newKey(t), newKey(t), short} {
		// gm → tjfoc
		p, err := gm.MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(p)
		tk, err := tjx509.ParsePKCS8UnecryptedPrivateKey(b.Bytes)
		if err != nil {
			t.Fatalf("tjfoc cannot parse gm PKCS#8: %v", err)
		}
		if tk.D.Cmp(new(big.Int).SetBytes(k.Bytes())) != 0 || !sameTjfocPub(&tk.PublicKey, k.PublicKey()) {
			t.Fatal("tjfoc reads another key from gm PKCS#8")
		}

		// tjfoc → gm
		der, err := tjx509.MarshalSm2UnecryptedPrivateKey(toTjfocPriv(k))
		if err != nil {
			t.Fatal(err)
		}
		got, err := gm.ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
		if err != nil {
			t.Fatalf("gm cannot parse tjfoc PKCS#8: %v", err)
		}
		if !got.Equal(k) || !got.PublicKey().Equal(k.PublicKey()) {
			t.Fatal("gm reads another key from tjfoc PKCS#8")
		}

		// SubjectPublicKeyInfo both ways.
		spki, err := gm.MarshalPKIXPublicKey(k.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		tpub, err := tjx509.ParseSm2PublicKey(spki)
		if err != nil {
			t.Fatalf("tjfoc cannot parse gm SPKI: %v", err)
		}
		if !sameTjfocPub(tpub, k.PublicKey()) {
			t.Fatal("tjfoc reads another public key from gm SPKI")
		}
		tspki, err := tjx509.MarshalSm2PublicKey(toTjfocPub(k.PublicKey()))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := gm.ParsePKIXPublicKey(tspki)
		if err != nil {
			t.Fatalf("gm cannot parse tjfoc SPKI: %v", err)
		}
		if !pub.Equal(k.PublicKey()) {
			t.Fatal("gm reads another public key from tjfoc SPKI")
		}
	}
}

func TestSM3MatchesTjfoc(t *testing.T) {
	buf := make([]byte, 1500)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	for n := 0; n <= len(buf); n += 1 + n/7 {
		want := tjsm3.Sm3Sum(buf[:n])
		got := gm.SM3(buf[:n])
		if !bytes.Equal(got[:], want) {
			t.Fatalf("SM3 of %d bytes: gm %x, tjfoc %x", n, got, want)
		}
		h := gm.NewSM3()
		h.Write(buf[:n/2])
		h.Write(buf[n/2 : n])
		if !bytes.Equal(h.Sum(nil), want) {
			t.Fatalf("streaming SM3 of %d bytes differs from tjfoc", n)
		}
	}
}
