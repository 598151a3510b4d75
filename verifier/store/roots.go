package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"elicense/internal/gm"
)

// Fingerprint is the SM3 hash of a certificate's DER encoding: what an
// operator compares, out of band, with the fingerprint the issuer's
// administrator reads out before pinning a root.
type Fingerprint [gm.SM3Size]byte

// FingerprintOf returns c's fingerprint.
func FingerprintOf(c *gm.Certificate) Fingerprint { return gm.SM3(c.Raw) }

// String is the fingerprint in upper-case hex, in groups of four for
// reading aloud.
func (f Fingerprint) String() string {
	h := strings.ToUpper(hex.EncodeToString(f[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i : i+4])
	}
	return b.String()
}

// ErrFingerprint: the certificate to pin does not have the fingerprint
// the operator was given.
var ErrFingerprint = errors.New("store: root fingerprint mismatch")

// ParseFingerprint reads a fingerprint in hex, in either case, with any
// spaces, colons or dashes between the digits.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != len(f) {
		return f, fmt.Errorf("store: fingerprint %q is not %d hex digits (an SM3 hash)", s, 2*len(f))
	}
	copy(f[:], b)
	return f, nil
}

// AddRootPinned is AddRoot for a file that must hold exactly one
// certificate, whose fingerprint must be want; on a mismatch nothing is
// written.
func (s *Store) AddRootPinned(pemData []byte, want Fingerprint) ([]*gm.Certificate, error) {
	if err := checkPinned("root", pemData, want); err != nil {
		return nil, err
	}
	return s.AddRoot(pemData)
}
