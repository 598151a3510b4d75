package gm

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
)

// ErrPassphrase means a key could not be decrypted with the passphrase
// given, or no usable passphrase was given.
var ErrPassphrase = errors.New("gm: wrong or missing passphrase")

// KeyEncryption tunes how MarshalEncryptedPrivateKey protects a key.
type KeyEncryption struct {
	// Iterations of PBKDF2-HMAC-SM3. Zero means DefaultKeyIterations.
	Iterations int
}

// DefaultKeyIterations is the PBKDF2 count for keys at rest: about 50 ms
// of SM3 on this project's reference machine, paid once per process start.
const DefaultKeyIterations = 100_000

// pemEncryptedKey and pemKey are the PEM types of PKCS#8 keys.
const (
	pemEncryptedKey = "ENCRYPTED PRIVATE KEY"
	pemKey          = "PRIVATE KEY"
)

// MarshalEncryptedPrivateKey encodes k as an encrypted PKCS#8 PEM block:
// PBES2 with PBKDF2-HMAC-SM3 (1.2.156.10197.1.401.2) and SM4-CBC
// (1.2.156.10197.1.104.2), the standard PBES2 wrapping that gmsm and GmSSL
// read. OpenSSL does not: 3.0 has no HMAC-SM3 PRF at all ("unsupported
// prf"), and later releases know hmacWithSM3 only as 1.2.156.10197.1.401.3.1
// (GM/T 0091-2020 names both OIDs). ParsePrivateKeyPEM accepts either OID,
// and OpenSSL 3.0 keys made with "-v2 sm4-cbc -v2prf hmacWithSHA256".
// (An AEAD mode would be preferable, but no PKCS#8 reader we must
// interoperate with accepts one; the key's own consistency check after
// decryption detects a wrong passphrase.)
func MarshalEncryptedPrivateKey(k *PrivateKey, passphrase []byte, opts *KeyEncryption) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty passphrase", ErrPassphrase)
	}
	iter := DefaultKeyIterations
	if opts != nil && opts.Iterations > 0 {
		iter = opts.Iterations
	}
	der, err := pkcs8.MarshalPrivateKey(k.k, passphrase, &pkcs8.Opts{
		Cipher:  pkcs.SM4CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: iter, HMACHash: pkcs8.SM3},
	})
	if err != nil {
		return nil, fmt.Errorf("gm: encrypting key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncryptedKey, Bytes: der}), nil
}

// MarshalPrivateKey encodes k as an unencrypted PKCS#8 PEM block. Only
// tests and interop tooling should need it; keys at rest are encrypted.
func MarshalPrivateKey(k *PrivateKey) ([]byte, error) {
	der, err := pkcs8.MarshalPrivateKey(k.k, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("gm: encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes a PKCS#8 SM2 key, encrypted ("ENCRYPTED
// PRIVATE KEY", passphrase required) or not ("PRIVATE KEY", passphrase
// ignored). A wrong passphrase gives ErrPassphrase.
func ParsePrivateKeyPEM(data, passphrase []byte) (*PrivateKey, error) {
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformedKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: trailing data after the PEM block", ErrMalformedKey)
	}
	var pw []byte
	switch b.Type {
	case pemEncryptedKey:
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%w: the key is encrypted and no passphrase was given", ErrPassphrase)
		}
		pw = passphrase
	case pemKey:
	default:
		return nil, fmt.Errorf("%w: PEM block %q, want %q", ErrMalformedKey, b.Type, pemEncryptedKey)
	}
	return parsePKCS8(b.Bytes, pw)
}

func parsePKCS8(der, pw []byte) (k *PrivateKey, err error) {
	// A wrong passphrase decrypts to garbage; make sure no parser below
	// can turn that garbage into a crash.
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, fmt.Errorf("%w: undecodable key (%v)", ErrMalformedKey, r)
		}
	}()
	if pw != nil {
		der = normalizeHMACSM3OID(der)
	}
	key, _, err := pkcs8.ParsePrivateKey(der, pw)
	if err != nil {
		if pw != nil {
			return nil, fmt.Errorf("%w (%v)", ErrPassphrase, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	sk, ok := key.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: PKCS#8 key is %T", ErrNotSM2Key, key)
	}
	return newPrivateKey(sk)
}

// PassphraseSource names where a passphrase comes from: a file (its first
// line) or an environment variable. Passphrases are never taken from
// command-line flags, which other users can read from the process table.
type PassphraseSource struct {
	File string // path of a file holding the passphrase; checked first
	Env  string // name of an environment variable
}

// Read returns the passphrase. It is an error if neither source is set, the
// file cannot be read, or the passphrase is empty.
func (s PassphraseSource) Read() ([]byte, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPassphrase, err)
		}
		if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
			b = b[:i]
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: passphrase file %s is empty", ErrPassphrase, s.File)
		}
		return b, nil
	case s.Env != "":
		v := os.Getenv(s.Env)
		if v == "" {
			return nil, fmt.Errorf("%w: environment variable %s is unset or empty", ErrPassphrase, s.Env)
		}
		return []byte(v), nil
	default:
		return nil, fmt.Errorf("%w: no passphrase file or environment variable configured", ErrPassphrase)
	}
}

// HMAC-SM3 has two object identifiers in GM/T 0091-2020: Annex C assigns
// 1.2.156.10197.1.401.2, which gmsm, GmSSL and gm write, while Annex A.2
// lists 1.2.156.10197.1.401.3.1, which OpenSSL (from the release after 3.0,
// openssl/openssl#19204) and Tongsuo write for "-v2prf hmacWithSM3".
var (
	oidHMACWithSM3        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401, 2}
	oidHMACWithSM3OpenSSL = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401, 3, 1}
	oidPBES2              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
)

// normalizeHMACSM3OID returns der with a PBES2/PBKDF2 PRF of
// 1.2.156.10197.1.401.3.1 rewritten to 1.2.156.10197.1.401.2, so that keys
// OpenSSL encrypts with "-v2prf hmacWithSM3" load. Anything else, including
// DER it cannot parse, is returned unchanged for gmsm to judge.
func normalizeHMACSM3OID(der []byte) []byte {
	type pbkdf2Params struct {
		Salt      asn1.RawValue
		Iteration asn1.RawValue
		KeyLength int `asn1:"optional"`
		PRF       pkix.AlgorithmIdentifier
	}
	type pbes2Params struct {
		KDF, Cipher pkix.AlgorithmIdentifier
	}
	type encryptedPrivateKeyInfo struct {
		Algorithm pkix.AlgorithmIdentifier
		Data      []byte
	}
	var info encryptedPrivateKeyInfo
	var params pbes2Params
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 || !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return der
	}
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) != 0 || !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return der
	}
	// The PRF is optional in PBKDF2-params; without one there is nothing
	// to rewrite, and the unmarshal below fails.
	if rest, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 || !kdf.PRF.Algorithm.Equal(oidHMACWithSM3OpenSSL) {
		return der
	}
	kdf.PRF.Algorithm = oidHMACWithSM3
	var err error
	if params.KDF.Parameters.FullBytes, err = asn1.Marshal(kdf); err != nil {
		return der
	}
	if info.Algorithm.Parameters.FullBytes, err = asn1.Marshal(params); err != nil {
		return der
	}
	out, err := asn1.Marshal(info)
	if err != nil {
		return der
	}
	return out
}
