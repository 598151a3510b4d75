package consent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"elicense/certs/jws"
	"elicense/internal/gm"

	jsonv2 "github.com/go-json-experiment/json"
)

// rawURL is strict unpadded base64url, as certs/jws reads it.
var rawURL = base64.RawURLEncoding.Strict()

// Limits of the texts inside tokens, in bytes.
const (
	maxText   = 1024 // a name, purpose, URL, licence metadata item
	maxFields = 256  // fields in a request, consent or credential
	maxKeyLen = 64   // a field key
)

// header is the protected header this package writes.
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid,omitempty"`
}

// sign makes a compact JWS of payload, marshalled as JSON.
func sign(signer crypto.Signer, typ, kid string, payload any) (string, error) {
	if signer == nil {
		return "", errors.New("no signer")
	}
	h, err := json.Marshal(header{Alg: gm.AlgSM2SM3, Typ: typ, Kid: kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sig, err := gm.SignRS(signer, []byte(in))
	if err != nil {
		return "", err
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// parse reads a compact JWS of type typ and decodes its payload into
// payload; what it refuses is an *Error of token name.
func parse(name, token, typ string, needKid bool, payload any) (*jws.Token, error) {
	t, err := jws.Parse(token, jws.Expect{Typ: typ, RequireKid: needKid})
	if err != nil {
		reason, part := ErrMalformed, "jws"
		if errors.Is(err, jws.ErrSignatureSize) {
			reason = ErrSignature
		}
		var je *jws.Error
		if errors.As(err, &je) {
			part = je.Part
		}
		return nil, &Error{Token: name, Part: part, Reason: reason, Err: err}
	}
	if err := jsonv2.Unmarshal(t.Payload, payload); err != nil {
		return nil, &Error{Token: name, Part: "payload", Reason: ErrMalformed, Err: err}
	}
	return t, nil
}

// verifySig checks a JWS signature; a nil key fails.
func verifySig(name string, pub *ecdsa.PublicKey, signingInput, sig []byte) error {
	if pub == nil {
		return errf(ErrSignature, name, "", "no key to verify with")
	}
	if err := gm.VerifyRS(pub, signingInput, sig); err != nil {
		return &Error{Token: name, Reason: ErrSignature, Err: err}
	}
	return nil
}

// sm3b64 is base64url SM3 of b.
func sm3b64(b []byte) string {
	d := gm.SM3(b)
	return base64.RawURLEncoding.EncodeToString(d[:])
}

// digest32 decodes a base64url SM3 digest.
func digest32(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := rawURL.DecodeString(s)
	return b, err == nil && len(b) == gm.SM3Size
}

// equalText compares two texts in constant time.
func equalText(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// text reports whether s is a non-empty printable text of at most max
// bytes: no control characters, so that nothing a wallet shows can hide
// a line.
// ValidText reports whether s may stand in a signed request or consent
// as text (a name, an organisation, a purpose, a matter): 1 to max bytes
// of UTF-8 without control characters. Whoever stores such text for a
// request checks it with this rule, so that signing cannot refuse it.
func ValidText(s string, max int) bool { return text(s, max) }

func text(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// fieldKey reports whether s is a catalogue field key: a lower-case
// letter, then lower-case letters, digits and '_'. It cannot be an
// SD-JWT reserved name (_sd, _sd_alg, ...).
func fieldKey(s string) bool {
	if s == "" || len(s) > maxKeyLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// rpID reports whether s is a relying-party id: 1–64 of [a-z0-9-].
func rpID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// copyID reports whether s is a licence copy identifier, licence#tag.
func copyID(s string) bool {
	l, tag, ok := strings.Cut(s, "#")
	return ok && l != "" && tag != "" && !strings.Contains(tag, "#") && text(s, 300)
}

// unix converts a JSON numeric date; callers check presence.
func unix(v *int64) time.Time { return time.Unix(*v, 0).UTC() }

// seconds is t as a JSON numeric date; zero means now.
func seconds(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.Unix()
}

// fieldList checks a list of field keys: 1..maxFields valid keys, none
// twice. It returns the name of the fault, or "".
func fieldList(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	if len(keys) > maxFields {
		return "too many"
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if !fieldKey(k) {
			return "bad key " + quote(k)
		}
		if seen[k] {
			return quote(k) + " twice"
		}
		seen[k] = true
	}
	return ""
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
