package gm_test

// Encrypted PKCS#8 keys built independently of gmsm (stdlib PBKDF2, SM4-CBC,
// hand-written DER), in the exact layout OpenSSL's "openssl pkcs8 -topk8 -v2
// sm4-cbc -v2prf PRF" writes: PBKDF2-params without keyLength, the PRF with
// NULL parameters.

import (
	"bytes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"hash"
	"testing"

	"github.com/emmansun/gmsm/sm4"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/internal/gm"
)

var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidSM4CBC         = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104, 2}
	oidHMACSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSM3        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401, 2}    // GM/T 0091-2020 Annex C; gmsm, GmSSL, gm
	oidHMACSM3OpenSSL = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401, 3, 1} // GM/T 0091-2020 Annex A.2; OpenSSL after 3.0, Tongsuo
)

// encryptPKCS8 wraps the unencrypted PKCS#8 DER plain in PBES2 with PBKDF2
// (prf, h, iter) and SM4-CBC, returning a PEM "ENCRYPTED PRIVATE KEY".
func encryptPKCS8(t testing.TB, plain, pw []byte, prf asn1.ObjectIdentifier, h func() hash.Hash, iter int) []byte {
	t.Helper()
	salt, iv := make([]byte, 16), make([]byte, 16)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(h, string(pw), salt, iter, 16)
	if err != nil {
		t.Fatal(err)
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pad := 16 - len(plain)%16
	data := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncryptedPrivateKeyInfo
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // AlgorithmIdentifier
			b.AddASN1ObjectIdentifier(oidPBES2)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PBES2-params
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // keyDerivationFunc
					b.AddASN1ObjectIdentifier(oidPBKDF2)
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PBKDF2-params
						b.AddASN1OctetString(salt)
						b.AddASN1Int64(int64(iter))
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(prf)
							b.AddASN1NULL()
						})
					})
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // encryptionScheme
					b.AddASN1ObjectIdentifier(oidSM4CBC)
					b.AddASN1OctetString(iv)
				})
			})
		})
		b.AddASN1OctetString(data)
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
}

func TestParseIndependentlyEncryptedKeys(t *testing.T) {
	k := newKey(t)
	plainPEM, err := gm.MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(plainPEM)
	pw := []byte("passphrase from a file")
	tests := []struct {
		name string
		prf  asn1.ObjectIdentifier
		h    func() hash.Hash
	}{
		{"hmacWithSHA256 (OpenSSL 3.0: -v2 sm4-cbc -v2prf hmacWithSHA256)", oidHMACSHA256, sha256.New},
		{"hmacWithSM3 1.2.156.10197.1.401.2 (gmsm, GmSSL)", oidHMACSM3, gm.NewSM3},
		{"hmacWithSM3 1.2.156.10197.1.401.3.1 (OpenSSL after 3.0, Tongsuo)", oidHMACSM3OpenSSL, gm.NewSM3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := encryptPKCS8(t, b.Bytes, pw, tc.prf, tc.h, 1000)
			got, err := gm.ParsePrivateKeyPEM(enc, pw)
			if err != nil {
				t.Fatalf("ParsePrivateKeyPEM: %v", err)
			}
			if !got.Equal(k) {
				t.Fatal("decrypted another key")
			}
			if _, err := gm.ParsePrivateKeyPEM(enc, []byte("wrong")); !errors.Is(err, gm.ErrPassphrase) {
				t.Fatalf("wrong passphrase: got %v, want ErrPassphrase", err)
			}
		})
	}
	// The PRF really is HMAC-SM3 under both OIDs: the same salt/iterations
	// derived with SHA-256 but labelled SM3 must not decrypt.
	enc := encryptPKCS8(t, b.Bytes, pw, oidHMACSM3OpenSSL, sha256.New, 1000)
	if _, err := gm.ParsePrivateKeyPEM(enc, pw); !errors.Is(err, gm.ErrPassphrase) {
		t.Fatalf("SHA-256-derived key labelled HMAC-SM3: got %v, want ErrPassphrase", err)
	}
}
