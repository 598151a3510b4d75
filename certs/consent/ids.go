package consent

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// Prefixes of request and grant ids; each is followed by 22 base64url
// characters, 128 random bits.
const (
	RequestIDPrefix = "r_"
	GrantIDPrefix   = "g_"
)

// idBytes is the randomness of an id.
const idBytes = 16

// NewRequestID returns a fresh request id.
func NewRequestID() string { return newID(RequestIDPrefix) }

// NewGrantID returns a fresh grant id.
func NewGrantID() string { return newID(GrantIDPrefix) }

// ValidRequestID reports whether s has the form of a request id.
func ValidRequestID(s string) bool { return validID(s, RequestIDPrefix) }

// ValidGrantID reports whether s has the form of a grant id.
func ValidGrantID(s string) bool { return validID(s, GrantIDPrefix) }

func newID(prefix string) string {
	var b [idBytes]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func validID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(idBytes) || strings.ContainsAny(rest, "\r\n") {
		return false
	}
	_, err := rawURL.DecodeString(rest)
	return err == nil
}

// newSalt returns a fresh disclosure salt, base64url.
func newSalt() string {
	var b [SaltSize]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
