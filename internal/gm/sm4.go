package gm

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// SM4KeySize is the SM4 key length in bytes.
const SM4KeySize = 16

// ErrDecrypt means an SM4-GCM ciphertext failed authentication: wrong key,
// wrong associated data, or tampered bytes.
var ErrDecrypt = errors.New("gm: SM4-GCM authentication failed")

func sm4GCM(key []byte) (cipher.AEAD, error) {
	if len(key) != SM4KeySize {
		return nil, fmt.Errorf("gm: SM4 key is %d bytes, want %d", len(key), SM4KeySize)
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gm: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealSM4GCM encrypts and authenticates plaintext (and additionalData)
// under a 16-byte key. The output is nonce(12) ‖ ciphertext ‖ tag(16).
func SealSM4GCM(key, plaintext, additionalData []byte) ([]byte, error) {
	aead, err := sm4GCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plaintext, additionalData), nil
}

// OpenSM4GCM reverses SealSM4GCM. It returns ErrDecrypt on any
// authentication failure.
func OpenSM4GCM(key, sealed, additionalData []byte) ([]byte, error) {
	aead, err := sm4GCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is shorter than nonce and tag", ErrDecrypt, len(sealed))
	}
	pt, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], additionalData)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
