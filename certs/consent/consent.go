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

// consentWire is the payload of a consent.
type consentWire struct {
	Request    string   `json:"request"`
	RequestSM3 string   `json:"request_sm3"`
	Licence    string   `json:"licence"`
	Decision   Decision `json:"decision"`
	Fields     []string `json:"fields,omitempty"`
	Iat        *int64   `json:"iat"`
}

// SignConsent signs a consent with the device key of the copy granted.
func SignConsent(device crypto.Signer, c ConsentClaims) (string, error) {
	iat := seconds(c.IssuedAt)
	w := consentWire{Request: c.Request, RequestSM3: c.RequestSM3, Licence: c.Licence, Decision: c.Decision, Fields: c.Fields, Iat: &iat}
	if err := w.check(); err != nil {
		return "", err
	}
	tok, err := sign(device, ConsentType, "", w)
	if err != nil {
		return "", &Error{Token: "consent", Reason: ErrSignature, Detail: "signing", Err: err}
	}
	return tok, nil
}

func (w *consentWire) check() error {
	bad := func(part, format string, args ...any) error {
		return errf(ErrMalformed, "consent", part, format, args...)
	}
	if _, ok := digest32(w.RequestSM3); !ok {
		return bad("request_sm3", "not a base64url SM3 digest")
	}
	switch {
	case !ValidRequestID(w.Request):
		return bad("request", "%s is not a request id", quote(w.Request))
	case !copyID(w.Licence):
		return bad("licence", "%s is not a copy identifier licence#tag", quote(w.Licence))
	case w.Iat == nil || *w.Iat <= 0:
		return bad("iat", "missing or not a time")
	case w.Decision == Refuse && w.Fields != nil:
		return bad("fields", "present in a refusal")
	case w.Decision == Approve:
		if why := fieldList(w.Fields); why != "" {
			return bad("fields", "%s", why)
		}
	case w.Decision != Refuse:
		return bad("decision", "%s, want %q or %q", quote(string(w.Decision)), Approve, Refuse)
	}
	return nil
}

// ParseConsent checks a consent's form: the JWS header, every claim
// present and well formed, licence a copy identifier (licence#tag), the
// decision known, fields non-empty without repeats when approving and
// absent when refusing.
func ParseConsent(jws string) (*Consent, error) {
	var w consentWire
	t, err := parse("consent", jws, ConsentType, false, &w)
	if err != nil {
		return nil, err
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	return &Consent{
		ConsentClaims: ConsentClaims{Request: w.Request, RequestSM3: w.RequestSM3, Licence: w.Licence, Decision: w.Decision,
			Fields: w.Fields, IssuedAt: unix(w.Iat)},
		JWS: jws, signingInput: t.SigningInput, signature: t.Signature,
	}, nil
}

// Verify checks the consent against the request it answers: the
// signature with device (the copy's device key), request_sm3 over
// requestJWS, request the request's id, and every approved field one the
// request asked for (ErrWidened otherwise). A well-formed refusal
// verifies; callers that need an approval test Decision or use
// VerifyGrantCredential.
func (c *Consent) Verify(device *ecdsa.PublicKey, requestJWS string) error {
	_, err := c.verify(device, requestJWS)
	return err
}

// verify is Verify returning the request parsed.
func (c *Consent) verify(device *ecdsa.PublicKey, requestJWS string) (*Request, error) {
	if err := verifySig("consent", device, c.signingInput, c.signature); err != nil {
		return nil, err
	}
	if !equalText(c.RequestSM3, RequestSM3(requestJWS)) {
		return nil, errf(ErrMismatch, "consent", "request_sm3", "not the SM3 of the request given")
	}
	r, err := ParseRequest(requestJWS)
	if err != nil {
		return nil, err
	}
	if c.Request != r.ID {
		return nil, errf(ErrMismatch, "consent", "request", "%s, the request is %s", c.Request, r.ID)
	}
	asked := make(map[string]bool, len(r.Fields))
	for _, f := range r.Fields {
		asked[f.Key] = true
	}
	for _, k := range c.Fields {
		if !asked[k] {
			return nil, errf(ErrWidened, "consent", "fields", "%s was not requested", quote(k))
		}
	}
	return r, nil
}
