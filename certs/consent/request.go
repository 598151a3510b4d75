package consent

import (
	"crypto"
	"crypto/ecdsa"
	"time"

	"elicense/certs/catalog"
)

// RequestType is the JWS typ of a signed request.
const RequestType = "elicense-request+jwt"

// Request limits (docs/consent.md §4).
const (
	RequestLifetime = 10 * time.Minute
	MinDuration     = 60 * time.Second
	MaxDuration     = 365 * 24 * time.Hour
	MaxStateLen     = 128 // bytes of the opaque state a relying party attaches
)

// Use says how often a grant's credential may be fetched.
type Use string

// Uses.
const (
	UseOnce   Use = "once"   // one fetch
	UseRepeat Use = "repeat" // any number until the grant ends
)

// Valid reports whether u is a known use.
func (u Use) Valid() bool { return u == UseOnce || u == UseRepeat }

// RP is a relying party as a request names it.
type RP struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OrgCode string `json:"org_code"`
	OrgName string `json:"org_name"`
}

// Matter is a service matter (事项).
type Matter struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// RequestedField is one field a request asks for.
type RequestedField struct {
	Key     string `json:"key"`
	Name    string `json:"name"`    // the catalogue's label of the field
	Purpose string `json:"purpose"` // the purpose the party registered
}

// RequestClaims is the payload of a signed request.
type RequestClaims struct {
	ID        string    // id: "r_" and 22 base64url characters
	Issuer    string    // iss: the issuer's base URL
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
	RP        RP
	Matter    Matter
	Class     string           // catalogue class key
	Fields    []RequestedField // at least one, no key twice
	Duration  time.Duration    // how long a grant lasts, whole seconds, MinDuration … MaxDuration
	Use       Use
}

// Request is a signed request taken apart by ParseRequest; nothing in it
// is verified until Verify.
type Request struct {
	RequestClaims
	KeyID string // the kid of the header
	JWS   string // the compact JWS, as parsed

	signingInput, signature []byte
}

// SignRequest signs a request with the platform's ledger key, named kid.
func SignRequest(signer crypto.Signer, kid string, c RequestClaims) (string, error) {
	return "", errNotYet
}

// ParseRequest checks a signed request's form: the JWS header (with a
// kid), every claim present and well formed, iat ≤ exp, the duration in
// range, a known use, at least one field and no field twice.
func ParseRequest(jws string) (*Request, error) {
	return nil, errNotYet
}

// Verify checks what a wallet checks before showing the request: the
// signature with ledgerKey (the trust bundle's ledger key), exp not
// passed at now, iss equal to iss, class a class of cat, and every field
// a field of that class with its catalogue label as name.
func (r *Request) Verify(ledgerKey *ecdsa.PublicKey, iss string, cat *catalog.Catalog, now time.Time) error {
	return errNotYet
}

// FieldKeys lists the requested field keys, in request order.
func (r *RequestClaims) FieldKeys() []string {
	keys := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		keys[i] = f.Key
	}
	return keys
}

// RequestSM3 is the request_sm3 of a consent: base64url SM3 of the
// signed request's compact JWS, exactly as sent.
func RequestSM3(jws string) string {
	return ""
}
