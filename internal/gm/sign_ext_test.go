package gm_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"

	"elicense/internal/gm"
)

func TestSignEdgeCases(t *testing.T) {
	k := newKey(t)

	// SM2 defines a signature over the empty message (e = SM3(Z_A));
	// OpenSSL and tjfoc make and accept it (see the interop tests).
	for _, msg := range [][]byte{nil, {}} {
		der, err := gm.Sign(k, msg)
		if err != nil {
			t.Fatalf("Sign(empty): %v", err)
		}
		if err := gm.Verify(k.PublicKey(), msg, der); err != nil {
			t.Fatalf("Verify(empty): %v", err)
		}
		if err := gm.Verify(k.PublicKey(), []byte{0}, der); !errors.Is(err, gm.ErrInvalidSignature) {
			t.Fatalf("empty-message signature over 0x00: %v", err)
		}
	}

	// A nil rand gives deterministic signatures.
	msg := []byte("deterministic")
	a, err := k.Sign(nil, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Sign(nil, msg, &gm.SignerOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("nil rand: two signatures differ")
	}
	if err := gm.Verify(k.PublicKey(), msg, a); err != nil {
		t.Fatal(err)
	}
	c, err := k.Sign(rand.Reader, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Fatal("crypto/rand signature equals the deterministic one")
	}

	// An explicit UID equal to the default is the default.
	d, err := k.Sign(nil, msg, &gm.SignerOpts{UID: []byte(gm.DefaultUID)})
	if err != nil || !bytes.Equal(d, a) {
		t.Fatalf("explicit default UID: %x, %v; want %x", d, err, a)
	}

	// Digest-signing options are refused.
	if _, err := k.Sign(rand.Reader, msg, crypto.SHA256); err == nil {
		t.Fatal("Sign accepted crypto.SHA256 options")
	}
	// A non-SM2 signer is refused.
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gm.Sign(p256, msg); !errors.Is(err, gm.ErrNotSM2Key) {
		t.Fatalf("P-256 signer: got %v, want ErrNotSM2Key", err)
	}
	if err := gm.Verify(&p256.PublicKey, msg, a); !errors.Is(err, gm.ErrNotSM2Key) {
		t.Fatalf("P-256 key: got %v, want ErrNotSM2Key", err)
	}
}
