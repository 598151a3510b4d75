package gm

import (
	"bytes"
	"crypto/hmac"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/golang-jwt/jwt/v5"
)

func mustKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	k := mustKey(t)
	msg := []byte("营业执照 1.2.156.3005.2")
	der, err := Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := DERToRS(der)
	if err != nil {
		t.Fatal(err)
	}
	back, err := RSToDER(rs)
	if err != nil || !bytes.Equal(back, der) {
		t.Fatalf("RSToDER(DERToRS(sig)) = %x, %v; want %x", back, err, der)
	}
	other := mustKey(t)
	tests := []struct {
		name string
		err  error
		fn   func() error
	}{
		{"der ok", nil, func() error { return Verify(k.PublicKey(), msg, der) }},
		{"rs ok", nil, func() error { return VerifyRS(k.PublicKey(), msg, rs) }},
		{"other message", ErrInvalidSignature, func() error { return Verify(k.PublicKey(), []byte("x"), der) }},
		{"other key", ErrInvalidSignature, func() error { return Verify(other.PublicKey(), msg, der) }},
		{"other uid", ErrInvalidSignature, func() error { return VerifyWithUID(k.PublicKey(), []byte("ALICE123@YAHOO.COM"), msg, der) }},
		{"trailing byte", ErrMalformedSignature, func() error { return Verify(k.PublicKey(), msg, append(bytes.Clone(der), 0)) }},
		{"short rs", ErrMalformedSignature, func() error { return VerifyRS(k.PublicKey(), msg, rs[:63]) }},
		{"zero rs", ErrMalformedSignature, func() error { return VerifyRS(k.PublicKey(), msg, make([]byte, 64)) }},
		{"r = n", ErrMalformedSignature, func() error {
			bad := bytes.Clone(rs)
			curveOrder.FillBytes(bad[:32])
			return VerifyRS(k.PublicKey(), msg, bad)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
}

func TestSignWithUID(t *testing.T) {
	k := mustKey(t)
	uid := []byte("ALICE123@YAHOO.COM")
	der, err := k.Sign(nil, []byte("m"), &SignerOpts{UID: uid})
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyWithUID(k.PublicKey(), uid, []byte("m"), der); err != nil {
		t.Fatal(err)
	}
	if err := Verify(k.PublicKey(), []byte("m"), der); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("default UID accepted a signature made with another UID: %v", err)
	}
}

func TestPublicKeyEncodings(t *testing.T) {
	for i := 0; i < 20; i++ {
		k := mustKey(t)
		un, err := MarshalPublicKey(k.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		c, err := MarshalPublicKeyCompressed(k.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{un, c} {
			p, err := ParsePublicKey(b)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Equal(k.PublicKey()) {
				t.Fatalf("ParsePublicKey(%x) gave another key", b)
			}
		}
	}
	bad := [][]byte{nil, {4}, make([]byte, 65), append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)}
	for _, b := range bad {
		if _, err := ParsePublicKey(b); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("ParsePublicKey(%x) = %v, want ErrMalformedKey", b, err)
		}
	}
}

func TestSM4GCM(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	sealed, err := SealSM4GCM(key, []byte("secret"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := OpenSM4GCM(key, sealed, []byte("aad"))
	if err != nil || string(pt) != "secret" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := OpenSM4GCM(key, sealed, []byte("aad")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered ciphertext: %v", err)
	}
	if _, err := OpenSM4GCM(key, sealed[:5], nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("short ciphertext: %v", err)
	}
}

func TestEncryptedKey(t *testing.T) {
	k := mustKey(t)
	pemBytes, err := MarshalEncryptedPrivateKey(k, []byte("correct horse"), &KeyEncryption{Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pemBytes, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("not an encrypted PEM:\n%s", pemBytes)
	}
	got, err := ParsePrivateKeyPEM(pemBytes, []byte("correct horse"))
	if err != nil || !got.Equal(k) {
		t.Fatalf("round trip: %v", err)
	}
	for _, pw := range []string{"", "wrong horse"} {
		if _, err := ParsePrivateKeyPEM(pemBytes, []byte(pw)); !errors.Is(err, ErrPassphrase) {
			t.Errorf("passphrase %q: got %v, want ErrPassphrase", pw, err)
		}
	}
	if _, err := ParsePrivateKeyPEM([]byte("junk"), nil); !errors.Is(err, ErrMalformedKey) {
		t.Errorf("junk: %v", err)
	}
}

func TestCertificates(t *testing.T) {
	rootKey, leafKey := mustKey(t), mustKey(t)
	now := time.Now()
	rootTmpl := &Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "elicense test root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              KeyUsageCertSign | KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootDER, err := CreateCertificate(rootTmpl, rootTmpl, rootKey.PublicKey(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := CreateCertificate(&Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "上海市市场监督管理局"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * time.Minute),
		KeyUsage:     KeyUsageDigitalSignature,
	}, root, leafKey.PublicKey(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCertificatesPEM(append(EncodeCertificatePEM(leafDER), EncodeCertificatePEM(rootDER)...))
	if err != nil || len(certs) != 2 {
		t.Fatalf("PEM round trip: %d, %v", len(certs), err)
	}
	leaf := certs[0]
	if err := VerifyChain(leaf, []*Certificate{root}, nil, now); err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(leaf, []*Certificate{root}, nil, now.Add(45*time.Minute)); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("expired leaf: %v", err)
	}
	// A root with the same name but another key must not vouch for leaf.
	otherKey := mustKey(t)
	otherDER, err := CreateCertificate(rootTmpl, rootTmpl, otherKey.PublicKey(), otherKey)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ParseCertificate(otherDER)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(leaf, []*Certificate{other}, nil, now); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("wrong root: %v", err)
	}
	if id := KeyIDString(leafDER); len(id) != 16 {
		t.Fatalf("key id %q", id)
	}
	if _, err := ParseCertificate(leafDER[:len(leafDER)-3]); !errors.Is(err, ErrMalformedCertificate) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestJWT(t *testing.T) {
	k := mustKey(t)
	tok, err := jwt.NewWithClaims(SigningMethodSM2SM3, jwt.MapClaims{"sub": "x"}).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return k.PublicKey(), nil },
		jwt.WithValidMethods([]string{AlgSM2SM3}))
	if err != nil || !parsed.Valid {
		t.Fatalf("parse: %v", err)
	}
	_, err = jwt.Parse(tok, func(*jwt.Token) (any, error) { return mustKey(t).PublicKey(), nil },
		jwt.WithValidMethods([]string{AlgSM2SM3}))
	if !errors.Is(err, jwt.ErrSignatureInvalid) || !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("wrong key: %v", err)
	}
}

// TestCachedZA holds the cached-Z_A signing path to gmsm's own hashing:
// deterministic signatures over the same message must be identical, for
// keys made every way a PrivateKey is made.
func TestCachedZA(t *testing.T) {
	gen := mustKey(t)
	fromBytes, err := NewPrivateKey(gen.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*PrivateKey{gen, fromBytes} {
		for _, msg := range [][]byte{nil, []byte("m"), bytes.Repeat([]byte("elicense"), 300)} {
			want, err := k.k.Sign(nil, msg, sm2.NewSM2SignerOption(true, nil))
			if len(msg) == 0 {
				// gmsm refuses the empty message; hash it the long way.
				e, _ := sm2.CalculateSM2Hash(&k.k.PublicKey, msg, nil)
				want, err = k.k.Sign(nil, e, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Sign(nil, msg, nil)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("len %d: cached Z_A signature %x, %v; want %x", len(msg), got, err, want)
			}
		}
	}
}

// TestHMACSM3 holds the precomputed HMAC-SM3 to crypto/hmac with SM3, for
// keys shorter than, equal to and longer than a block and messages in
// several parts.
func TestHMACSM3(t *testing.T) {
	for _, kl := range []int{0, 1, 32, 63, 64, 65, 200} {
		key := bytes.Repeat([]byte{byte(kl + 1)}, kl)
		h := NewHMACSM3(key)
		for _, ml := range []int{0, 1, 55, 56, 64, 119, 300} {
			msg := bytes.Repeat([]byte{0xab}, ml)
			ref := hmac.New(NewSM3, key)
			ref.Write(msg)
			want := ref.Sum(nil)
			got := h.Sum(nil, msg[:ml/3], msg[ml/3:])
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d, message %d bytes: %x, want %x", kl, ml, got, want)
			}
		}
	}
}
