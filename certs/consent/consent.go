package consent

import (
	"crypto"
	"crypto/ecdsa"
	"time"
)

// ConsentType is the JWS typ of a consent.
const ConsentType = "elicense-consent+jwt"

// Decision is the holder's answer.
type Decision string

// Decisions.
const (
	Approve Decision = "approve"
	Refuse  Decision = "refuse"
)

// ConsentClaims is the payload of a consent.
type ConsentClaims struct {
	Request    string    // request: the request id
	RequestSM3 string    // request_sm3: RequestSM3 of the request shown
	Licence    string    // licence: the copy identifier licence#tag
	Decision   Decision  // decision
	Fields     []string  // fields: the approved keys; empty when refusing
	IssuedAt   time.Time // iat; zero means now
}

// Consent is a consent taken apart by ParseConsent; nothing in it is
// verified until Verify.
type Consent struct {
	ConsentClaims
	JWS string // the compact JWS, as parsed

	signingInput, signature []byte
}

// SignConsent signs a consent with the device key of the copy granted.
func SignConsent(device crypto.Signer, c ConsentClaims) (string, error) {
	return "", errNotYet
}

// ParseConsent checks a consent's form: the JWS header, every claim
// present and well formed, licence a copy identifier (licence#tag), the
// decision known, fields non-empty without repeats when approving and
// absent when refusing.
func ParseConsent(jws string) (*Consent, error) {
	return nil, errNotYet
}

// Verify checks the consent against the request it answers: the
// signature with device (the copy's device key), request_sm3 over
// requestJWS, request the request's id, and every approved field one the
// request asked for (ErrWidened otherwise). A well-formed refusal
// verifies; callers that need an approval test Decision or use
// VerifyGrantCredential.
func (c *Consent) Verify(device *ecdsa.PublicKey, requestJWS string) error {
	return errNotYet
}
