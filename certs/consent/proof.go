package consent

import (
	"crypto"
	"crypto/ecdsa"
	"time"
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

// SignProof signs a proof with the caller's key (the relying party's
// registered key or the copy's device key).
func SignProof(signer crypto.Signer, p ProofClaims) (string, error) {
	return "", errNotYet
}

// ParseProof checks a proof's form: the JWS header, every claim present
// and well formed (htm upper-case letters, htu an absolute path without
// query, jti 16–64 base64url characters, bh 32 bytes when present).
func ParseProof(token string) (*Proof, error) {
	return nil, errNotYet
}

// ParseAuthorization parses the value of an Authorization header
// carrying a proof ("ELProof <JWS>", the scheme case-insensitive).
func ParseAuthorization(header string) (*Proof, error) {
	return nil, errNotYet
}

// Verify checks the proof against the call it came with: the signature
// with pub, htm and htu equal to method and path, iat within ProofSkew of
// now, and bh equal to the SM3 of body (absent if and only if body is
// empty). It does not check jti against earlier proofs: the server keeps
// that memory, for ProofReplayWindow.
func (p *Proof) Verify(pub *ecdsa.PublicKey, method, path string, body []byte, now time.Time) error {
	return errNotYet
}
