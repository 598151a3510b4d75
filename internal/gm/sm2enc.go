package gm

import (
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrDecryption means an SM2 ciphertext is malformed or does not decrypt
// under the key (its C3 check failed). The two are not told apart, as
// gmsm does not, against adaptive attacks.
var ErrDecryption = errors.New("gm: SM2 ciphertext does not decrypt")

// MaxSM2Plaintext bounds what EncryptSM2 and DecryptSM2 handle: SM2
// encryption is for short secrets (its KDF runs over the whole message).
const MaxSM2Plaintext = 64 << 10

// EncryptSM2 encrypts plaintext to pub per GB/T 32918.4 and returns the
// ciphertext as the ASN.1 SEQUENCE { x, y INTEGER, hash OCTET STRING (C3),
// ciphertext OCTET STRING (C2) } (C1C3C2), the form OpenSSL 3 and
// tjfoc/gmsm read. The plaintext must be 1 to MaxSM2Plaintext bytes.
func EncryptSM2(pub *ecdsa.PublicKey, plaintext []byte) ([]byte, error) {
	if !IsSM2PublicKey(pub) {
		return nil, ErrNotSM2Key
	}
	if len(plaintext) == 0 || len(plaintext) > MaxSM2Plaintext {
		return nil, fmt.Errorf("gm: SM2 plaintext of %d bytes, want 1 to %d", len(plaintext), MaxSM2Plaintext)
	}
	ct, err := sm2.EncryptASN1(rand.Reader, pub, plaintext)
	if err != nil {
		return nil, fmt.Errorf("gm: SM2 encryption: %w", err)
	}
	return ct, nil
}

// DecryptSM2 decrypts an ASN.1 C1C3C2 ciphertext made by EncryptSM2 (or
// OpenSSL, or tjfoc/gmsm). Anything else, including the raw 04‖C1‖C3‖C2
// form gmsm would also take, gives ErrDecryption.
func DecryptSM2(priv *PrivateKey, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) > MaxSM2Plaintext+256 || !isASN1Ciphertext(ciphertext) {
		return nil, ErrDecryption
	}
	pt, err := sm2.Decrypt(priv.k, ciphertext)
	if err != nil || len(pt) == 0 {
		return nil, ErrDecryption
	}
	return pt, nil
}

// isASN1Ciphertext checks the DER shape of an SM2 ciphertext: a SEQUENCE
// of two minimal non-negative INTEGERs, a 32-byte OCTET STRING and a
// non-empty OCTET STRING, with nothing after. gmsm checks less (it takes
// other encodings too).
func isASN1Ciphertext(der []byte) bool {
	var inner, x, y, c3, c2 cryptobyte.String
	in := cryptobyte.String(der)
	return in.ReadASN1(&inner, cbasn1.SEQUENCE) && in.Empty() &&
		readASN1Int(&inner, &x) && x[0]&0x80 == 0 && len(x) <= 33 &&
		readASN1Int(&inner, &y) && y[0]&0x80 == 0 && len(y) <= 33 &&
		inner.ReadASN1(&c3, cbasn1.OCTET_STRING) && len(c3) == SM3Size &&
		inner.ReadASN1(&c2, cbasn1.OCTET_STRING) && len(c2) > 0 &&
		inner.Empty()
}
