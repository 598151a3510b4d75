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
	IssuedAt  time.Time // iat; zero means now
	ExpiresAt time.Time // exp; zero means IssuedAt + RequestLifetime
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

// requestWire is the payload of a signed request.
type requestWire struct {
	ID       string           `json:"id"`
	Iss      string           `json:"iss"`
	Iat      *int64           `json:"iat"`
	Exp      *int64           `json:"exp"`
	RP       *RP              `json:"rp"`
	Matter   *Matter          `json:"matter"`
	Class    string           `json:"class"`
	Fields   []RequestedField `json:"fields"`
	Duration *int64           `json:"duration"`
	Use      Use              `json:"use"`
}

// SignRequest signs a request with the platform's ledger key, named kid.
func SignRequest(signer crypto.Signer, kid string, c RequestClaims) (string, error) {
	if c.Duration%time.Second != 0 {
		return "", errf(ErrMalformed, "request", "duration", "%v is not whole seconds", c.Duration)
	}
	if kid == "" {
		return "", errf(ErrMalformed, "request", "kid", "missing")
	}
	iat, exp, d := seconds(c.IssuedAt), c.ExpiresAt.Unix(), int64(c.Duration/time.Second)
	if c.ExpiresAt.IsZero() {
		exp = iat + int64(RequestLifetime/time.Second)
	}
	rp, m := c.RP, c.Matter
	w := requestWire{ID: c.ID, Iss: c.Issuer, Iat: &iat, Exp: &exp, RP: &rp, Matter: &m, Class: c.Class,
		Fields: c.Fields, Duration: &d, Use: c.Use}
	if err := w.check(); err != nil {
		return "", err
	}
	tok, err := sign(signer, RequestType, kid, w)
	if err != nil {
		return "", &Error{Token: "request", Reason: ErrSignature, Detail: "signing", Err: err}
	}
	return tok, nil
}

func (w *requestWire) check() error {
	bad := func(part, format string, args ...any) error {
		return errf(ErrMalformed, "request", part, format, args...)
	}
	switch {
	case !ValidRequestID(w.ID):
		return bad("id", "%s is not r_ and 22 base64url characters", quote(w.ID))
	case !text(w.Iss, maxText):
		return bad("iss", "missing or not printable")
	case w.Iat == nil || *w.Iat <= 0:
		return bad("iat", "missing or not a time")
	case w.Exp == nil || *w.Exp <= 0:
		return bad("exp", "missing or not a time")
	case *w.Exp < *w.Iat:
		return bad("exp", "before iat")
	case w.RP == nil:
		return bad("rp", "missing")
	case !rpID(w.RP.ID):
		return bad("rp.id", "%s is not 1–64 of [a-z0-9-]", quote(w.RP.ID))
	case !text(w.RP.Name, maxText) || !text(w.RP.OrgCode, maxText) || !text(w.RP.OrgName, maxText):
		return bad("rp", "name, org_code or org_name missing or not printable")
	case w.Matter == nil || !text(w.Matter.Code, maxText) || !text(w.Matter.Name, maxText):
		return bad("matter", "code or name missing or not printable")
	case !text(w.Class, maxText):
		return bad("class", "missing")
	case w.Duration == nil:
		return bad("duration", "missing")
	case *w.Duration < int64(MinDuration/time.Second) || *w.Duration > int64(MaxDuration/time.Second):
		return bad("duration", "%d s, want %d … %d", *w.Duration, int64(MinDuration/time.Second), int64(MaxDuration/time.Second))
	case !w.Use.Valid():
		return bad("use", "%s, want %q or %q", quote(string(w.Use)), UseOnce, UseRepeat)
	}
	keys := make([]string, len(w.Fields))
	for i, f := range w.Fields {
		if !text(f.Name, maxText) || !text(f.Purpose, maxText) {
			return bad("fields", "field %d: name or purpose missing or not printable", i)
		}
		keys[i] = f.Key
	}
	if why := fieldList(keys); why != "" {
		return bad("fields", "%s", why)
	}
	return nil
}

// ParseRequest checks a signed request's form: the JWS header (with a
// kid), every claim present and well formed, iat ≤ exp, the duration in
// range, a known use, at least one field and no field twice.
func ParseRequest(jws string) (*Request, error) {
	var w requestWire
	t, err := parse("request", jws, RequestType, true, &w)
	if err != nil {
		return nil, err
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	return &Request{
		RequestClaims: RequestClaims{ID: w.ID, Issuer: w.Iss, IssuedAt: unix(w.Iat), ExpiresAt: unix(w.Exp), RP: *w.RP, Matter: *w.Matter,
			Class: w.Class, Fields: w.Fields, Duration: time.Duration(*w.Duration) * time.Second, Use: w.Use},
		KeyID: t.Header.Kid, JWS: jws, signingInput: t.SigningInput, signature: t.Signature,
	}, nil
}

// Verify checks what a wallet checks before showing the request: the
// signature with ledgerKey (the trust bundle's ledger key), exp not
// passed at now, iss equal to iss, class a class of cat (nil means
// catalog.Default()), and every field a field of that class with its
// catalogue label as name.
func (r *Request) Verify(ledgerKey *ecdsa.PublicKey, iss string, cat *catalog.Catalog, now time.Time) error {
	if err := verifySig("request", ledgerKey, r.signingInput, r.signature); err != nil {
		return err
	}
	switch {
	case now.After(r.ExpiresAt):
		return errf(ErrExpired, "request", "exp", "expired at %s", r.ExpiresAt.Format(time.RFC3339))
	case r.IssuedAt.After(now.Add(ProofSkew)):
		return errf(ErrExpired, "request", "iat", "made %s, in the future", r.IssuedAt.Format(time.RFC3339))
	case r.Issuer != iss:
		return errf(ErrMismatch, "request", "iss", "%s, want %s", quote(r.Issuer), quote(iss))
	}
	return r.checkCatalog(cat)
}

// checkCatalog checks the class and the requested fields against cat.
func (r *Request) checkCatalog(cat *catalog.Catalog) error {
	if cat == nil {
		cat = catalog.Default()
	}
	cl, ok := cat.Lookup(r.Class)
	if !ok || cl.Key != r.Class {
		return errf(ErrField, "request", "class", "%s is not a class of the catalogue", quote(r.Class))
	}
	for _, f := range r.Fields {
		cf, ok := cl.Field(f.Key)
		if !ok {
			return errf(ErrField, "request", "fields", "%s is not a field of %s", quote(f.Key), r.Class)
		}
		if f.Name != cf.Label {
			return errf(ErrField, "request", "fields", "%s is named %s, the catalogue says %s", f.Key, quote(f.Name), quote(cf.Label))
		}
	}
	return nil
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
func RequestSM3(jws string) string { return sm3b64([]byte(jws)) }
