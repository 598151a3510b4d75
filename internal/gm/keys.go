package gm

import (
	"bytes"
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
// (1.2.156.10197.1.104.2), the standard PBES2 wrapping, so OpenSSL 3 and
// other SM implementations read it. (An AEAD mode would be preferable, but
// no PKCS#8 reader we must interoperate with accepts one; the key's own
// consistency check after decryption detects a wrong passphrase.)
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
	return &PrivateKey{k: sk}, nil
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
