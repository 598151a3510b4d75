package gm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DefaultUID is the SM2 distinguishing identifier used when none is given
// (GB/T 35276 §5.3, and OpenSSL's distid:1234567812345678).
const DefaultUID = "1234567812345678"

// SignatureSize is the length of a fixed-size r‖s signature.
const SignatureSize = 64

var (
	// ErrInvalidSignature means the signature is well formed but does not
	// verify under the key.
	ErrInvalidSignature = errors.New("gm: signature does not verify")
	// ErrMalformedSignature means the signature bytes are not a signature
	// at all (wrong length, bad ASN.1, trailing data, zero or out-of-range
	// r or s).
	ErrMalformedSignature = errors.New("gm: malformed signature")
	// ErrNotSM2Key means a key is not on the SM2 curve (or is not an
	// elliptic-curve key at all).
	ErrNotSM2Key = errors.New("gm: not an SM2 key")
	// ErrMalformedKey means key bytes could not be decoded.
	ErrMalformedKey = errors.New("gm: malformed key")
)

// curveOrder is n of the SM2 recommended curve.
var curveOrder = sm2.P256().Params().N

// curveOrderBytes is curveOrder, 32 bytes big-endian.
var curveOrderBytes = [32]byte(curveOrder.FillBytes(make([]byte, 32)))

// SignerOpts are the options gm passes to a crypto.Signer. A signer used
// with this package (a *PrivateKey, or an HSM/KMS-backed implementation)
// must, when HashFunc() returns 0, treat its input as the message itself and
// return the ASN.1 DER SM2 signature over SM3(Z_A ‖ message), computing Z_A
// with UID (DefaultUID when empty). SM2 cannot sign a bare digest, because Z_A
// binds the signer's public key and identity into the hash.
type SignerOpts struct {
	UID []byte
}

// HashFunc returns 0: SM2 signers receive the message, not a digest.
func (*SignerOpts) HashFunc() crypto.Hash { return 0 }

// PrivateKey is an SM2 private key. It implements crypto.Signer with the
// contract described on SignerOpts.
type PrivateKey struct {
	k  *sm2.PrivateKey
	za []byte // Z_A for DefaultUID: it depends only on the public key, and recomputing it cost four SM3 blocks a signature
}

// newPrivateKey wraps k with its default-UID Z_A.
func newPrivateKey(k *sm2.PrivateKey) (*PrivateKey, error) {
	za, err := sm2.CalculateZA(&k.PublicKey, []byte(DefaultUID))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return &PrivateKey{k: k, za: za}, nil
}

// GenerateKey makes a new SM2 key from crypto/rand.
func GenerateKey() (*PrivateKey, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gm: generating SM2 key: %w", err)
	}
	return newPrivateKey(k)
}

// NewPrivateKey builds a key from its 32-byte big-endian scalar.
func NewPrivateKey(d []byte) (*PrivateKey, error) {
	if len(d) != 32 {
		return nil, fmt.Errorf("%w: SM2 private scalar is %d bytes, want 32", ErrMalformedKey, len(d))
	}
	k, err := sm2.NewPrivateKey(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return newPrivateKey(k)
}

// Public returns the *ecdsa.PublicKey on the SM2 curve.
func (k *PrivateKey) Public() crypto.PublicKey { return &k.k.PublicKey }

// PublicKey is Public with its concrete type.
func (k *PrivateKey) PublicKey() *ecdsa.PublicKey { return &k.k.PublicKey }

// Bytes returns the 32-byte private scalar. Handle with care.
func (k *PrivateKey) Bytes() []byte { return k.k.D.FillBytes(make([]byte, 32)) }

// Equal reports whether x is the same private key, in constant time.
func (k *PrivateKey) Equal(x crypto.PrivateKey) bool {
	o, ok := x.(*PrivateKey)
	return ok && k.k.Equal(o.k)
}

// Sign signs message (not a digest) per GB/T 32918.2 and returns the DER
// signature. opts may be nil, a *SignerOpts, or the gmsm option that the
// X.509 code passes; any option asking for a pre-hashed digest is refused.
// A nil rand selects deterministic (RFC 6979 style) nonces.
func (k *PrivateKey) Sign(rnd io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	var uid []byte // nil: DefaultUID, whose Z_A k holds
	switch o := opts.(type) {
	case nil:
	case *SignerOpts:
		if len(o.UID) > 0 && string(o.UID) != DefaultUID {
			uid = o.UID
		}
	case *sm2.SM2SignerOption:
		// Passed by gmsm's X.509 code, which never signs an empty message.
		return k.k.Sign(rnd, message, o)
	default:
		if opts.HashFunc() != 0 {
			return nil, fmt.Errorf("gm: SM2 signs the message itself, not a %v digest", opts.HashFunc())
		}
	}
	// Compute e = SM3(Z_A ‖ M) here and hand gmsm the digest: gmsm refuses
	// to sign an empty message ("sm2: hash cannot be empty"), although SM2
	// defines that signature and OpenSSL and tjfoc/gmsm make and accept it.
	if uid == nil {
		return k.signDefault(rnd, message)
	}
	e, err := sm2.CalculateSM2Hash(&k.k.PublicKey, message, uid)
	if err != nil {
		return nil, fmt.Errorf("gm: hashing for SM2: %w", err)
	}
	return k.k.Sign(rnd, e, nil)
}

// signDefault signs message with DefaultUID, hashing e = SM3(Z_A ‖ M) with
// the cached Z_A.
func (k *PrivateKey) signDefault(rnd io.Reader, message []byte) ([]byte, error) {
	var e [SM3Size]byte
	h := sm3.New()
	h.Write(k.za)
	h.Write(message)
	return k.k.Sign(rnd, h.Sum(e[:0]), nil)
}

// Sign signs message with any SM2 crypto.Signer and the default UID,
// returning the DER signature.
func Sign(s crypto.Signer, message []byte) ([]byte, error) {
	if k, ok := s.(*PrivateKey); ok {
		// The common case, without the interface call's allocations.
		sig, err := k.signDefault(rand.Reader, message)
		if err != nil {
			return nil, fmt.Errorf("gm: signing: %w", err)
		}
		return sig, nil
	}
	if !IsSM2PublicKey(s.Public()) {
		return nil, ErrNotSM2Key
	}
	sig, err := s.Sign(rand.Reader, message, &SignerOpts{})
	if err != nil {
		return nil, fmt.Errorf("gm: signing: %w", err)
	}
	return sig, nil
}

// SignRS signs like Sign and returns the fixed 64-byte r‖s form used by JWS.
func SignRS(s crypto.Signer, message []byte) ([]byte, error) {
	der, err := Sign(s, message)
	if err != nil {
		return nil, err
	}
	return DERToRS(der)
}

// Verify checks a DER signature over message with the default UID.
// It returns nil, ErrInvalidSignature, ErrMalformedSignature or ErrNotSM2Key.
func Verify(pub *ecdsa.PublicKey, message, der []byte) error {
	return VerifyWithUID(pub, []byte(DefaultUID), message, der)
}

// VerifyWithUID is Verify with an explicit SM2 user ID.
func VerifyWithUID(pub *ecdsa.PublicKey, uid, message, der []byte) error {
	if !IsSM2PublicKey(pub) {
		return ErrNotSM2Key
	}
	// Parse strictly ourselves: a signature with trailing bytes or
	// non-minimal integers is malformed, not merely invalid.
	if _, err := DERToRS(der); err != nil {
		return err
	}
	if !sm2.VerifyASN1WithSM2(pub, uid, message, der) {
		return ErrInvalidSignature
	}
	return nil
}

// VerifyRS checks a 64-byte r‖s signature over message with the default UID.
func VerifyRS(pub *ecdsa.PublicKey, message, rs []byte) error {
	der, err := RSToDER(rs)
	if err != nil {
		return err
	}
	return Verify(pub, message, der)
}

// DERToRS converts an ASN.1 DER SM2 signature to the fixed r‖s form. It
// rejects trailing data, non-minimal integers and values outside [1, n-1].
// It works on the bytes (no big.Int): it runs on every signature made and,
// through Verify, every one checked.
func DERToRS(der []byte) ([]byte, error) {
	var inner, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!readASN1Int(&inner, &r) || !readASN1Int(&inner, &s) || !inner.Empty() {
		return nil, fmt.Errorf("%w: not a DER SEQUENCE of two INTEGERs", ErrMalformedSignature)
	}
	out := make([]byte, SignatureSize)
	if err := putScalar("r", out[:32], r); err != nil {
		return nil, err
	}
	if err := putScalar("s", out[32:], s); err != nil {
		return nil, err
	}
	return out, nil
}

// readASN1Int reads a DER INTEGER's two's-complement content, which must be
// minimally encoded (as cryptobyte's ReadASN1Integer requires).
func readASN1Int(in *cryptobyte.String, out *cryptobyte.String) bool {
	if !in.ReadASN1(out, cbasn1.INTEGER) || len(*out) == 0 {
		return false
	}
	b := *out
	return len(b) == 1 || !(b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 == 0x80)
}

// putScalar writes the INTEGER content v, big-endian, into the 32-byte dst
// after checking that it is in [1, n-1].
func putScalar(name string, dst []byte, v []byte) error {
	if v[0]&0x80 != 0 { // negative
		return fmt.Errorf("%w: %s is outside [1, n-1]", ErrMalformedSignature, name)
	}
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > len(dst) {
		return fmt.Errorf("%w: %s is outside [1, n-1]", ErrMalformedSignature, name)
	}
	clear(dst[:len(dst)-len(v)])
	copy(dst[len(dst)-len(v):], v)
	if bytes.Compare(dst, curveOrderBytes[:]) >= 0 {
		return fmt.Errorf("%w: %s is outside [1, n-1]", ErrMalformedSignature, name)
	}
	return nil
}

// RSToDER converts a 64-byte r‖s signature to ASN.1 DER.
func RSToDER(rs []byte) ([]byte, error) {
	if len(rs) != SignatureSize {
		return nil, fmt.Errorf("%w: r‖s signature is %d bytes, want %d", ErrMalformedSignature, len(rs), SignatureSize)
	}
	r, s := rs[:32], rs[32:]
	if err := checkScalarBytes("r", r); err != nil {
		return nil, err
	}
	if err := checkScalarBytes("s", s); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 2+2*(2+33)))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addASN1Uint(b, r)
		addASN1Uint(b, s)
	})
	return b.Bytes()
}

// checkScalarBytes checks that the 32-byte big-endian v is in [1, n-1].
func checkScalarBytes(name string, v []byte) error {
	if bytes.Compare(v, curveOrderBytes[:]) >= 0 || allZero(v) {
		return fmt.Errorf("%w: %s is outside [1, n-1]", ErrMalformedSignature, name)
	}
	return nil
}

func allZero(v []byte) bool {
	for _, c := range v {
		if c != 0 {
			return false
		}
	}
	return true
}

// addASN1Uint adds the non-negative big-endian v as a minimal DER INTEGER,
// as AddASN1BigInt does: no leading zeros but one before a set top bit.
func addASN1Uint(b *cryptobyte.Builder, v []byte) {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) {
		if v[0]&0x80 != 0 {
			b.AddUint8(0)
		}
		b.AddBytes(v)
	})
}

// IsSM2PublicKey reports whether pub is an *ecdsa.PublicKey on the SM2 curve.
func IsSM2PublicKey(pub crypto.PublicKey) bool {
	return sm2.IsSM2PublicKey(pub)
}

// MarshalPublicKey returns the 65-byte uncompressed point (0x04‖X‖Y).
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if !IsSM2PublicKey(pub) {
		return nil, ErrNotSM2Key
	}
	k, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return k.Bytes(), nil
}

// MarshalPublicKeyCompressed returns the 33-byte compressed point
// (0x02/0x03‖X), the form QR tokens carry.
func MarshalPublicKeyCompressed(pub *ecdsa.PublicKey) ([]byte, error) {
	un, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 33)
	out[0] = 2 | un[64]&1
	copy(out[1:], un[1:33])
	return out, nil
}

// ParsePublicKey decodes a 65-byte uncompressed or 33-byte compressed SM2
// point and checks that it lies on the curve.
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	switch {
	case len(b) == 65 && b[0] == 4:
		pub, err := sm2.NewPublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
		}
		return pub, nil
	case len(b) == 33 && (b[0] == 2 || b[0] == 3):
		return decompress(b)
	default:
		return nil, fmt.Errorf("%w: SM2 point of %d bytes, want 33 (compressed) or 65 (uncompressed)", ErrMalformedKey, len(b))
	}
}

// decompress recovers Y from X with the curve's own field arithmetic
// (gmsm's UnmarshalCompressed), several times faster than big.Int
// ModSqrt, and a presentation carries a compressed device key on every
// scan.
func decompress(b []byte) (*ecdsa.PublicKey, error) {
	x, y := elliptic.UnmarshalCompressed(sm2.P256(), b)
	if x == nil {
		return nil, fmt.Errorf("%w: not a compressed point on the SM2 curve", ErrMalformedKey)
	}
	un := make([]byte, 65)
	un[0] = 4
	x.FillBytes(un[1:33])
	y.FillBytes(un[33:])
	return ParsePublicKey(un)
}
