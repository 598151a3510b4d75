package gm_test

// Fuzz targets for every gm parser. Run one by hand with
//
//	go test -run='^$' -fuzz='^FuzzParseCertificate$' -fuzztime=30s ./internal/gm/
//
// Seeds are real values (testdata/fixtures and freshly made ones); inputs
// that once failed stay in testdata/fuzz/<Target>/.

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"elicense/internal/gm"
)

// fuzzKey is a fixed key, so seeds and failures reproduce.
func fuzzKey(tb testing.TB) *gm.PrivateKey {
	tb.Helper()
	d := gm.SM3([]byte("elicense fuzz key"))
	k, err := gm.NewPrivateKey(d[:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func pemBlocks(tb testing.TB, data []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		out = append(out, b.Bytes)
	}
}

var certFixtures = []string{"gm-root.pem", "gm-leaf.pem", "openssl-root.pem", "openssl-leaf.pem"}

func FuzzParseCertificate(f *testing.F) {
	for _, n := range certFixtures {
		for _, der := range pemBlocks(f, fixture(f, n)) {
			f.Add(der)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := gm.ParseCertificate(der)
		if err != nil {
			if c != nil || !(errors.Is(err, gm.ErrMalformedCertificate) || errors.Is(err, gm.ErrNotSM2Key)) {
				t.Fatalf("ParseCertificate: (%v, %v)", c, err)
			}
			return
		}
		if !gm.IsSM2PublicKey(c.PublicKey) {
			t.Fatalf("accepted a certificate without an SM2 key: %T", c.PublicKey)
		}
		if !bytes.Equal(c.Raw, der) {
			t.Fatal("Raw differs from the input")
		}
		_ = gm.KeyIDString(c.Raw)
		// Chain verification of whatever parsed must not panic.
		_ = gm.VerifyChain(c, []*gm.Certificate{c}, nil, c.NotBefore.Add(time.Second))
	})
}

func FuzzParseCertificatesPEM(f *testing.F) {
	f.Add(append(fixture(f, "gm-leaf.pem"), fixture(f, "gm-root.pem")...))
	f.Add(append(fixture(f, "openssl-leaf.pem"), fixture(f, "openssl-root.pem")...))
	f.Add(fixture(f, "gm-leaf-key.pem"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := gm.ParseCertificatesPEM(data)
		if err != nil {
			if cs != nil || !(errors.Is(err, gm.ErrMalformedCertificate) || errors.Is(err, gm.ErrNotSM2Key)) {
				t.Fatalf("ParseCertificatesPEM: (%v, %v)", cs, err)
			}
			return
		}
		if len(cs) == 0 {
			t.Fatal("no certificates and no error")
		}
		for _, c := range cs {
			if !gm.IsSM2PublicKey(c.PublicKey) {
				t.Fatal("accepted a certificate without an SM2 key")
			}
		}
	})
}

func FuzzParsePrivateKeyPEM(f *testing.F) {
	pw := []byte(fixturePassphrase)
	f.Add(fixture(f, "gm-leaf-key.pem"), []byte(nil))
	f.Add(fixture(f, "gm-leaf-key-enc.pem"), pw)
	f.Add(fixture(f, "openssl-leaf-key.pem"), []byte(nil))
	f.Add(fixture(f, "openssl-leaf-key-enc.pem"), pw)
	f.Add(fixture(f, "gm-leaf-key-enc.pem"), []byte("wrong"))
	f.Add(fixture(f, "gm-leaf.pem"), []byte(nil))
	f.Fuzz(func(t *testing.T, data, passphrase []byte) {
		k, err := gm.ParsePrivateKeyPEM(data, passphrase)
		if err != nil {
			if k != nil || !(errors.Is(err, gm.ErrMalformedKey) || errors.Is(err, gm.ErrPassphrase) || errors.Is(err, gm.ErrNotSM2Key)) {
				t.Fatalf("ParsePrivateKeyPEM: (%v, %v)", k, err)
			}
			return
		}
		// Whatever parsed must be a working SM2 key.
		msg := []byte("fuzz")
		sig, err := gm.Sign(k, msg)
		if err != nil {
			t.Fatalf("signing with a parsed key: %v", err)
		}
		if err := gm.Verify(k.PublicKey(), msg, sig); err != nil {
			t.Fatalf("parsed key's own signature: %v", err)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	k := fuzzKey(f)
	un, _ := gm.MarshalPublicKey(k.PublicKey())
	c, _ := gm.MarshalPublicKeyCompressed(k.PublicKey())
	f.Add(un)
	f.Add(c)
	f.Add(append([]byte{3}, c[1:]...))
	f.Add(make([]byte, 65))
	f.Add(bytes.Repeat([]byte{0xff}, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := gm.ParsePublicKey(b)
		if err != nil {
			if pub != nil || !errors.Is(err, gm.ErrMalformedKey) {
				t.Fatalf("ParsePublicKey: (%v, %v)", pub, err)
			}
			return
		}
		un, err := gm.MarshalPublicKey(pub)
		if err != nil {
			t.Fatalf("MarshalPublicKey(parsed): %v", err)
		}
		c, err := gm.MarshalPublicKeyCompressed(pub)
		if err != nil {
			t.Fatalf("MarshalPublicKeyCompressed(parsed): %v", err)
		}
		if !bytes.Equal(b, un) && !bytes.Equal(b, c) {
			t.Fatalf("ParsePublicKey(%x) re-encodes as %x / %x", b, un, c)
		}
		// The other encoding parses to the same key.
		other := un
		if bytes.Equal(b, un) {
			other = c
		}
		pub2, err := gm.ParsePublicKey(other)
		if err != nil || !pub2.Equal(pub) {
			t.Fatalf("re-encoded key %x: (%v, %v)", other, pub2, err)
		}
	})
}

func FuzzParsePKIXPublicKey(f *testing.F) {
	spki, _ := gm.MarshalPKIXPublicKey(fuzzKey(f).PublicKey())
	f.Add(spki)
	for _, n := range certFixtures {
		for _, der := range pemBlocks(f, fixture(f, n)) {
			if c, err := gm.ParseCertificate(der); err == nil {
				f.Add(c.RawSubjectPublicKeyInfo)
			}
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		pub, err := gm.ParsePKIXPublicKey(der)
		if err != nil {
			if pub != nil || !(errors.Is(err, gm.ErrMalformedKey) || errors.Is(err, gm.ErrNotSM2Key)) {
				t.Fatalf("ParsePKIXPublicKey: (%v, %v)", pub, err)
			}
			return
		}
		if _, err := gm.MarshalPKIXPublicKey(pub); err != nil {
			t.Fatalf("re-encoding a parsed key: %v", err)
		}
	})
}

func FuzzDERToRS(f *testing.F) {
	k := fuzzKey(f)
	for _, m := range []string{"", "a", "elicense"} {
		der, _ := gm.Sign(k, []byte(m))
		f.Add(der)
	}
	f.Add(fixture(f, "openssl-leaf.sig"))
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Add([]byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01})
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, der []byte) {
		rs, err := gm.DERToRS(der)
		if err != nil {
			if rs != nil || !errors.Is(err, gm.ErrMalformedSignature) {
				t.Fatalf("DERToRS: (%x, %v)", rs, err)
			}
			return
		}
		if len(rs) != gm.SignatureSize {
			t.Fatalf("r‖s of %d bytes", len(rs))
		}
		back, err := gm.RSToDER(rs)
		if err != nil {
			t.Fatalf("RSToDER(DERToRS(x)): %v", err)
		}
		// Only canonical DER is accepted, so the round trip is exact.
		if !bytes.Equal(back, der) {
			t.Fatalf("DER %x round-trips to %x", der, back)
		}
	})
}

func FuzzVerifyRS(f *testing.F) {
	k := fuzzKey(f)
	pub := k.PublicKey()
	msg := []byte("the one message no seed signs")
	for _, m := range []string{"another message", "", "the one message no seed signs."} {
		rs, _ := gm.SignRS(k, []byte(m))
		f.Add(rs)
	}
	f.Add(make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	n := gm.CurveOrder.FillBytes(make([]byte, 32))
	f.Add(append(bytes.Clone(n), n...))
	f.Fuzz(func(t *testing.T, sig []byte) {
		err := gm.VerifyRS(pub, msg, sig)
		if err == nil {
			t.Fatalf("VerifyRS accepted %x over a message nobody signed", sig)
		}
		if !errors.Is(err, gm.ErrInvalidSignature) && !errors.Is(err, gm.ErrMalformedSignature) {
			t.Fatalf("VerifyRS: unexpected error %v", err)
		}
		// The same bytes as a DER signature.
		err = gm.Verify(pub, msg, sig)
		if err == nil {
			t.Fatalf("Verify accepted %x over a message nobody signed", sig)
		}
		if !errors.Is(err, gm.ErrInvalidSignature) && !errors.Is(err, gm.ErrMalformedSignature) {
			t.Fatalf("Verify: unexpected error %v", err)
		}
	})
}

func FuzzOpenSM4GCM(f *testing.F) {
	key := bytes.Repeat([]byte{0x42}, gm.SM4KeySize)
	for _, tc := range []struct{ pt, aad string }{{"", ""}, {"secret", "aad"}, {strings.Repeat("x", 100), ""}} {
		sealed, _ := gm.SealSM4GCM(key, []byte(tc.pt), []byte(tc.aad))
		f.Add(key, sealed, []byte(tc.aad))
	}
	f.Add(key[:15], make([]byte, 28), []byte(nil))
	f.Add(key, make([]byte, 27), []byte(nil))
	f.Fuzz(func(t *testing.T, key, sealed, aad []byte) {
		pt, err := gm.OpenSM4GCM(key, sealed, aad)
		if len(key) != gm.SM4KeySize {
			if err == nil {
				t.Fatalf("OpenSM4GCM accepted a %d-byte key", len(key))
			}
			return
		}
		if err != nil {
			if pt != nil || !errors.Is(err, gm.ErrDecrypt) {
				t.Fatalf("OpenSM4GCM: (%x, %v)", pt, err)
			}
			return
		}
		// Authentic: sealing again with the same nonce gives the input.
		again, err := gm.SealSM4GCMWithNonce(key, sealed[:12], pt, aad)
		if err != nil || !bytes.Equal(again, sealed) {
			t.Fatalf("re-sealing an opened ciphertext: (%x, %v), want %x", again, err, sealed)
		}
	})
}

func FuzzJWTParse(f *testing.F) {
	k := fuzzKey(f)
	pub := k.PublicKey()
	for _, claims := range []jwt.MapClaims{{"sub": "91310000MA1FL0000X"}, {}, {"exp": 1}} {
		tok, err := jwt.NewWithClaims(gm.SigningMethodSM2SM3, claims).SignedString(k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
	}
	f.Add("eyJhbGciOiJTTTJTTTMiLCJ0eXAiOiJKV1QifQ.e30.")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil },
			jwt.WithValidMethods([]string{gm.AlgSM2SM3}))
		if err != nil {
			return
		}
		if !parsed.Valid || parsed.Method.Alg() != gm.AlgSM2SM3 {
			t.Fatalf("token accepted with method %v, valid %v", parsed.Method.Alg(), parsed.Valid)
		}
		// Independently: the signature is 64 bytes and verifies over the
		// signing string.
		i := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
		if err != nil {
			t.Fatalf("accepted token with undecodable signature: %v", err)
		}
		if err := gm.VerifyRS(pub, []byte(tok[:i]), sig); err != nil {
			t.Fatalf("accepted token whose signature does not verify: %v", err)
		}
	})
}
