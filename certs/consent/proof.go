package consent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/subtle"
	"strings"
	"time"

	"elicense/internal/gm"
)

// ProofType is the JWS typ of a proof.
const ProofType = "elicense-proof+jwt"

// AuthScheme is the HTTP authorization scheme that carries a proof:
// "Authorization: ELProof <JWS>".
const AuthScheme = "ELProof"

// The proof windows (docs/consent.md §3). A server accepts a proof whose
// iat is within ProofSkew of its clock, and refuses a jti it has seen
// within ProofReplayWindow: longer than the two skews together, so a jti
// is remembered for as long as any proof carrying it could be accepted.
const (
	ProofSkew         = 60 * time.Second
	ProofReplayWindow = 130 * time.Second
)

// Bounds of a proof's jti, in characters of base64url.
const (
	MinJTILen = 16
	MaxJTILen = 64
)

// ProofClaims is what a caller proves on one HTTP call.
type ProofClaims struct {
	Subject  string    // sub: a relying-party id or a copy identifier licence#tag
	Method   string    // htm: the HTTP method, upper case
	Path     string    // htu: the request path, without scheme, host or query
	IssuedAt time.Time // iat; zero means now
	// JTI is the proof's unique id; empty means SignProof makes one of
	// 16 random bytes.
	JTI string
	// Body is the request body; bh is its SM3, present if and only if
	// the body is not empty.
	Body []byte
}

// Proof is a proof taken apart by ParseProof; nothing in it is verified
// until Verify.
type Proof struct {
	Subject  string
	Method   string
	Path     string
	IssuedAt time.Time
	JTI      string
	// BodyHash is the decoded bh, SM3 of the body; nil when the proof
	// says there is no body.
	BodyHash []byte

	signingInput, signature []byte
}

// proofWire is the payload of a proof.
type proofWire struct {
	Sub string  `json:"sub"`
	Htm string  `json:"htm"`
	Htu string  `json:"htu"`
	Iat *int64  `json:"iat"`
	Jti string  `json:"jti"`
	Bh  *string `json:"bh,omitempty"`
}

// MaxSubjectLen bounds a proof's sub, in bytes.
const MaxSubjectLen = 300

// SignProof signs a proof with the caller's key (the relying party's
// registered key or the copy's device key).
func SignProof(signer crypto.Signer, p ProofClaims) (string, error) {
	iat := seconds(p.IssuedAt)
	w := proofWire{Sub: p.Subject, Htm: p.Method, Htu: p.Path, Iat: &iat, Jti: p.JTI}
	if w.Jti == "" {
		w.Jti = newSalt()
	}
	if len(p.Body) > 0 {
		bh := sm3b64(p.Body)
		w.Bh = &bh
	}
	if _, err := w.check(); err != nil {
		return "", err
	}
	tok, err := sign(signer, ProofType, "", w)
	if err != nil {
		return "", &Error{Token: "proof", Reason: ErrSignature, Detail: "signing", Err: err}
	}
	return tok, nil
}

// check checks the form of a proof's claims and returns the decoded bh.
func (w *proofWire) check() ([]byte, error) {
	bad := func(part, format string, args ...any) ([]byte, error) {
		return nil, errf(ErrMalformed, "proof", part, format, args...)
	}
	switch {
	case !text(w.Sub, MaxSubjectLen):
		return bad("sub", "missing, longer than %d bytes or not printable", MaxSubjectLen)
	case !method(w.Htm):
		return bad("htm", "%s is not an upper-case HTTP method", quote(w.Htm))
	case !path(w.Htu):
		return bad("htu", "%s is not a request path (/…, no query or fragment)", quote(w.Htu))
	case w.Iat == nil:
		return bad("iat", "missing")
	case *w.Iat <= 0:
		return bad("iat", "%d is not a time", *w.Iat)
	case len(w.Jti) < MinJTILen || len(w.Jti) > MaxJTILen || !base64url(w.Jti):
		return bad("jti", "want %d–%d base64url characters", MinJTILen, MaxJTILen)
	}
	if w.Bh == nil {
		return nil, nil
	}
	bh, ok := digest32(*w.Bh)
	if !ok {
		return bad("bh", "not a base64url SM3 digest")
	}
	return bh, nil
}

func method(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// path reports whether s is an origin-form path: '/' then visible ASCII,
// no query or fragment.
func path(s string) bool {
	if s == "" || s[0] != '/' || len(s) > 2048 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '?' || c == '#' {
			return false
		}
	}
	return true
}

func base64url(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseProof checks a proof's form: the JWS header, every claim present
// and well formed (htm upper-case letters, htu an absolute path without
// query, jti 16–64 base64url characters, bh 32 bytes when present).
func ParseProof(token string) (*Proof, error) {
	var w proofWire
	t, err := parse("proof", token, ProofType, false, &w)
	if err != nil {
		return nil, err
	}
	bh, err := w.check()
	if err != nil {
		return nil, err
	}
	return &Proof{Subject: w.Sub, Method: w.Htm, Path: w.Htu, IssuedAt: unix(w.Iat), JTI: w.Jti, BodyHash: bh,
		signingInput: t.SigningInput, signature: t.Signature}, nil
}

// ParseAuthorization parses the value of an Authorization header
// carrying a proof ("ELProof <JWS>", the scheme case-insensitive).
func ParseAuthorization(header string) (*Proof, error) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, AuthScheme) {
		return nil, errf(ErrMalformed, "proof", "authorization", "want %q and a proof", AuthScheme+" ")
	}
	return ParseProof(strings.TrimLeft(tok, " "))
}

// Verify checks the proof against the call it came with: the signature
// with pub, htm and htu equal to method and path, iat within ProofSkew of
// now, and bh equal to the SM3 of body (absent if and only if body is
// empty). It does not check jti against earlier proofs: the server keeps
// that memory, for ProofReplayWindow.
func (p *Proof) Verify(pub *ecdsa.PublicKey, method, path string, body []byte, now time.Time) error {
	if err := verifySig("proof", pub, p.signingInput, p.signature); err != nil {
		return err
	}
	switch {
	case p.Method != method:
		return errf(ErrMismatch, "proof", "htm", "%s, the call is %s", quote(p.Method), quote(method))
	case p.Path != path:
		return errf(ErrMismatch, "proof", "htu", "%s, the call is to %s", quote(p.Path), quote(path))
	case p.IssuedAt.Before(now.Add(-ProofSkew)):
		return errf(ErrExpired, "proof", "iat", "made %s, more than %v before now", p.IssuedAt.Format(time.RFC3339), ProofSkew)
	case p.IssuedAt.After(now.Add(ProofSkew)):
		return errf(ErrExpired, "proof", "iat", "made %s, more than %v after now", p.IssuedAt.Format(time.RFC3339), ProofSkew)
	case len(body) == 0 && p.BodyHash != nil:
		return errf(ErrMismatch, "proof", "bh", "present, the call has no body")
	case len(body) > 0 && p.BodyHash == nil:
		return errf(ErrMismatch, "proof", "bh", "missing, the call has a body")
	}
	if len(body) > 0 {
		d := gm.SM3(body)
		if subtle.ConstantTimeCompare(d[:], p.BodyHash) != 1 {
			return errf(ErrMismatch, "proof", "bh", "not the SM3 of the body")
		}
	}
	return nil
}
