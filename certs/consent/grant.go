package consent

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"elicense/internal/chinatime"
	"elicense/internal/gm"

	jsonv2 "github.com/go-json-experiment/json"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
)

// GrantType is the JWS typ of a grant credential's issuer JWT.
const GrantType = "elicense-sd+jwt"

// SDAlg is the _sd_alg of a grant credential: disclosure digests are
// base64url SM3.
const SDAlg = "sm3"

// SaltSize is the size of a disclosure's salt, before base64url.
const SaltSize = 16

// GrantBase is everything a grant credential says besides the fields:
// the licence's metadata as its credential JWS has it (docs/formats.md
// §1), the relying party and the grant.
type GrantBase struct {
	Issuer    string    // iss: the issuing agency's code
	ID        string    // jti: as in the copy's credential
	IssuedAt  time.Time // iat: when the grant credential is signed; zero means now
	NotBefore time.Time // nbf: the start of the licence's validity
	// Expires is exp, the end of the licence's validity; zero for a
	// licence valid 长期 (no exp).
	Expires time.Time

	Class      string // lic.class
	TypeCode   string // lic.type_code
	Name       string // lic.name
	IssuerName string // lic.issuer_name
	IssuedOn   string // lic.issued_on, YYYY-MM-DD
	ValidFrom  string // lic.valid_from, YYYY-MM-DD
	ValidUntil string // lic.valid_until, YYYY-MM-DD or 长期

	Status credential.StatusRef // status: the copy's status list entry
	Device *ecdsa.PublicKey     // cnf: the copy's device key

	Audience string // aud: the relying party's id
	Grant    string // grant: the grant id
}

// BaseFromLicence fills a GrantBase from the copy's licence (as
// credential.Verify or the issuer's store gives it), for grant grant of
// relying party rp, signed at signedAt. The licence must be bound (a
// Device) and have a Status.
func BaseFromLicence(l *credential.License, rp, grant string, signedAt time.Time) (GrantBase, error) {
	switch {
	case l == nil:
		return GrantBase{}, errf(ErrMalformed, "credential", "", "no licence")
	case l.Device == nil:
		return GrantBase{}, errf(ErrMalformed, "credential", "cnf", "the licence is not bound to a device")
	case l.Status == nil:
		return GrantBase{}, errf(ErrMalformed, "credential", "status", "the licence has no status list entry")
	}
	b := GrantBase{
		Issuer: l.IssuerCode, ID: l.ID, IssuedAt: signedAt, NotBefore: l.ValidFrom,
		Class: l.Class, TypeCode: l.TypeCode, Name: l.Name, IssuerName: l.IssuerName,
		IssuedOn: date(l.IssuedOn), ValidFrom: date(l.ValidFrom), ValidUntil: credential.LongTerm,
		Status: *l.Status, Device: l.Device, Audience: rp, Grant: grant,
	}
	if !l.ValidUntil.IsZero() {
		b.ValidUntil = date(l.ValidUntil)
		b.Expires = chinatime.EndOfDay(l.ValidUntil)
	}
	return b, nil
}

func date(t time.Time) string { return t.In(chinatime.Zone).Format(credential.DateLayout) }

// Disclosure is one SD-JWT disclosure, base64url of the JSON array
// [salt, key, value].
type Disclosure struct {
	Salt    string // base64url of SaltSize random bytes
	Key     string
	Value   string
	Encoded string // the disclosure as it travels
	Digest  string // base64url SM3 of Encoded, as listed in _sd
}

// ParseDisclosure decodes one disclosure and checks its form: strict
// base64url, a JSON array of exactly three strings, a salt of SaltSize
// bytes, a field key ([a-z][a-z0-9_]*).
func ParseDisclosure(encoded string) (*Disclosure, error) {
	bad := func(format string, args ...any) (*Disclosure, error) {
		return nil, errf(ErrMalformed, "disclosure", "", format, args...)
	}
	if strings.ContainsAny(encoded, "\r\n") {
		return bad("a line break")
	}
	raw, err := rawURL.DecodeString(encoded)
	if err != nil {
		return bad("base64url: %v", err)
	}
	var arr []string
	if err := jsonv2.Unmarshal(raw, &arr); err != nil {
		return bad("not a JSON array of strings: %v", err)
	}
	if len(arr) != 3 {
		return bad("%d elements, want 3 (salt, key, value)", len(arr))
	}
	if salt, err := rawURL.DecodeString(arr[0]); err != nil || len(salt) != SaltSize || strings.ContainsAny(arr[0], "\r\n") {
		return bad("salt: want %d bytes of base64url", SaltSize)
	}
	if !fieldKey(arr[1]) {
		return bad("key %s is not a field key", quote(arr[1]))
	}
	return &Disclosure{Salt: arr[0], Key: arr[1], Value: arr[2], Encoded: encoded, Digest: sm3b64([]byte(encoded))}, nil
}

// makeDisclosure encodes a fresh disclosure of key and value.
func makeDisclosure(key, value string) (string, error) {
	b, err := jsonv2.Marshal([]string{newSalt(), key, value})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// GrantCredential is a grant credential taken apart by
// ParseGrantCredential; nothing in it is verified until
// VerifyGrantCredential.
type GrantCredential struct {
	GrantBase
	KeyID       string        // the kid of the issuer JWT's header
	SD          []string      // _sd: the digests of every field's disclosure, sorted
	Disclosures []*Disclosure // as presented, in order
	JWT         string        // the issuer JWT

	signingInput, signature []byte
}

// Fields gives the disclosed fields, key to value.
func (g *GrantCredential) Fields() map[string]string {
	m := make(map[string]string, len(g.Disclosures))
	for _, d := range g.Disclosures {
		m[d.Key] = d.Value
	}
	return m
}

// grantWire is the payload of a grant credential's issuer JWT.
type grantWire struct {
	Iss    string     `json:"iss"`
	Jti    string     `json:"jti"`
	Iat    *int64     `json:"iat"`
	Nbf    *int64     `json:"nbf"`
	Exp    *int64     `json:"exp,omitempty"`
	Aud    string     `json:"aud"`
	Grant  string     `json:"grant"`
	Lic    *grantLic  `json:"lic"`
	Status *statusRef `json:"status"`
	Cnf    *cnf       `json:"cnf"`
	SDAlg  string     `json:"_sd_alg"`
	SD     []string   `json:"_sd"`
}

type grantLic struct {
	Class      string `json:"class"`
	TypeCode   string `json:"type_code"`
	Name       string `json:"name"`
	IssuerName string `json:"issuer_name"`
	IssuedOn   string `json:"issued_on"`
	ValidFrom  string `json:"valid_from"`
	ValidUntil string `json:"valid_until"`
}

type statusRef struct {
	StatusList *credential.StatusRef `json:"status_list"`
}

// cnf is RFC 7800 proof of possession with an SM2 JWK, as in the
// credential.
type cnf struct {
	JWK *jwk `json:"jwk"`
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func deviceJWK(pub *ecdsa.PublicKey) (*jwk, error) {
	raw, err := gm.MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	enc := base64.RawURLEncoding
	return &jwk{Kty: "EC", Crv: "SM2", X: enc.EncodeToString(raw[1:33]), Y: enc.EncodeToString(raw[33:])}, nil
}

func (j *jwk) publicKey() (*ecdsa.PublicKey, error) {
	if j.Kty != "EC" || j.Crv != "SM2" {
		return nil, fmt.Errorf("kty %s crv %s, want EC SM2", quote(j.Kty), quote(j.Crv))
	}
	x, err1 := rawURL.DecodeString(j.X)
	y, err2 := rawURL.DecodeString(j.Y)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("coordinates are not 32-byte base64url values")
	}
	return gm.ParsePublicKey(append(append([]byte{4}, x...), y...))
}

// check checks the form of the issuer JWT's claims and returns the
// device key.
func (w *grantWire) check() (*ecdsa.PublicKey, error) {
	bad := func(part, format string, args ...any) (*ecdsa.PublicKey, error) {
		return nil, errf(ErrMalformed, "credential", part, format, args...)
	}
	switch {
	case !text(w.Iss, maxText):
		return bad("iss", "missing or not printable")
	case !text(w.Jti, maxText):
		return bad("jti", "missing or not printable")
	case w.Iat == nil || *w.Iat <= 0:
		return bad("iat", "missing or not a time")
	case w.Nbf == nil:
		return bad("nbf", "missing")
	case w.Exp != nil && *w.Exp <= *w.Nbf:
		return bad("exp", "not after nbf")
	case !rpID(w.Aud):
		return bad("aud", "%s is not a relying-party id", quote(w.Aud))
	case !ValidGrantID(w.Grant):
		return bad("grant", "%s is not a grant id", quote(w.Grant))
	case w.Lic == nil:
		return bad("lic", "missing")
	case w.Status == nil || w.Status.StatusList == nil || !text(w.Status.StatusList.URI, maxText):
		return bad("status", "missing or without a status list uri")
	case w.Cnf == nil || w.Cnf.JWK == nil:
		return bad("cnf", "missing")
	case w.SDAlg != SDAlg:
		return bad("_sd_alg", "%s, want %q", quote(w.SDAlg), SDAlg)
	case len(w.SD) == 0 || len(w.SD) > maxFields:
		return bad("_sd", "%d digests, want 1 … %d", len(w.SD), maxFields)
	}
	l := w.Lic
	for _, v := range []string{l.Class, l.TypeCode, l.Name, l.IssuerName} {
		if !text(v, maxText) {
			return bad("lic", "class, type_code, name or issuer_name missing or not printable")
		}
	}
	for _, d := range []string{l.IssuedOn, l.ValidFrom} {
		if _, err := time.Parse(credential.DateLayout, d); err != nil {
			return bad("lic", "issued_on or valid_from %s is not a date", quote(d))
		}
	}
	if l.ValidUntil == credential.LongTerm {
		if w.Exp != nil {
			return bad("exp", "present for a licence valid %s", credential.LongTerm)
		}
	} else if _, err := time.Parse(credential.DateLayout, l.ValidUntil); err != nil {
		return bad("lic", "valid_until %s is neither a date nor %s", quote(l.ValidUntil), credential.LongTerm)
	} else if w.Exp == nil {
		return bad("exp", "missing for a licence valid until %s", l.ValidUntil)
	}
	if msg := checkSD(w.SD); msg != "" {
		return bad("_sd", "%s", msg)
	}
	dev, err := w.Cnf.JWK.publicKey()
	if err != nil {
		return nil, &Error{Token: "credential", Part: "cnf", Reason: ErrMalformed, Err: err}
	}
	return dev, nil
}

// checkSD says what is wrong with an _sd list ("" if nothing): each a
// base64url SM3 digest, sorted, none twice.
func checkSD(sd []string) string {
	for i, d := range sd {
		if _, ok := digest32(d); !ok {
			return fmt.Sprintf("digest %d is not a base64url SM3 digest", i)
		}
		if i > 0 && sd[i-1] >= d {
			return "not sorted, or a digest twice"
		}
	}
	return ""
}

// IssueGrantCredential signs the issuer JWT of a grant credential with
// the agency key named kid: base's claims and _sd listing one disclosure
// for every field in fields, each with a fresh salt. It returns the JWT
// and each field's disclosure, by key; the caller keeps them with the
// grant and sends only the granted ones (Present).
func IssueGrantCredential(agency crypto.Signer, kid string, base GrantBase, fields map[string]string) (jwt string, disclosures map[string]string, err error) {
	if kid == "" {
		return "", nil, errf(ErrMalformed, "credential", "kid", "missing")
	}
	if base.Device == nil {
		return "", nil, errf(ErrMalformed, "credential", "cnf", "no device key")
	}
	j, err := deviceJWK(base.Device)
	if err != nil {
		return "", nil, &Error{Token: "credential", Part: "cnf", Reason: ErrMalformed, Err: err}
	}
	if len(fields) == 0 || len(fields) > maxFields {
		return "", nil, errf(ErrMalformed, "credential", "_sd", "%d fields, want 1 … %d", len(fields), maxFields)
	}
	disclosures = make(map[string]string, len(fields))
	sd := make([]string, 0, len(fields))
	for k, v := range fields {
		if !fieldKey(k) {
			return "", nil, errf(ErrMalformed, "credential", "_sd", "%s is not a field key", quote(k))
		}
		d, err := makeDisclosure(k, v)
		if err != nil {
			return "", nil, &Error{Token: "credential", Part: "_sd", Reason: ErrMalformed, Detail: "field " + k, Err: err}
		}
		disclosures[k] = d
		sd = append(sd, sm3b64([]byte(d)))
	}
	slices.Sort(sd)
	iat, nbf := seconds(base.IssuedAt), base.NotBefore.Unix()
	status := base.Status
	w := grantWire{
		Iss: base.Issuer, Jti: base.ID, Iat: &iat, Nbf: &nbf, Aud: base.Audience, Grant: base.Grant,
		Lic: &grantLic{Class: base.Class, TypeCode: base.TypeCode, Name: base.Name, IssuerName: base.IssuerName,
			IssuedOn: base.IssuedOn, ValidFrom: base.ValidFrom, ValidUntil: base.ValidUntil},
		Status: &statusRef{StatusList: &status}, Cnf: &cnf{JWK: j}, SDAlg: SDAlg, SD: sd,
	}
	if !base.Expires.IsZero() {
		exp := base.Expires.Unix()
		w.Exp = &exp
	}
	if _, err := w.check(); err != nil {
		return "", nil, err
	}
	jwt, err = sign(agency, GrantType, kid, w)
	if err != nil {
		return "", nil, &Error{Token: "credential", Reason: ErrSignature, Detail: "signing", Err: err}
	}
	return jwt, disclosures, nil
}

// Present gives the SD-JWT a relying party receives: the JWT followed by
// the disclosures of exactly keys, in the order given, each followed by
// '~' (jwt~d1~d2~). A key with no disclosure is left out.
func Present(jwt string, disclosures map[string]string, keys []string) string {
	var b strings.Builder
	b.WriteString(jwt)
	b.WriteByte('~')
	for _, k := range keys {
		if d, ok := disclosures[k]; ok {
			b.WriteString(d)
			b.WriteByte('~')
		}
	}
	return b.String()
}

// MaxSDJWTLen bounds a presented grant credential, in bytes.
const MaxSDJWTLen = 1 << 20

// ParseGrantCredential checks a presented grant credential's form: the
// issuer JWT's header (with a kid) and claims, _sd_alg sm3, _sd sorted
// digests without repeats, every disclosure well formed, its digest in
// _sd, and no key disclosed twice. A key-binding JWT after the last '~'
// is refused: the consent binds the holder instead.
func ParseGrantCredential(sdjwt string) (*GrantCredential, error) {
	if len(sdjwt) > MaxSDJWTLen {
		return nil, errf(ErrMalformed, "credential", "", "%d bytes, more than %d", len(sdjwt), MaxSDJWTLen)
	}
	parts := strings.Split(sdjwt, "~")
	if len(parts) < 2 {
		return nil, errf(ErrMalformed, "credential", "", "not an SD-JWT (jwt~disclosure~…~)")
	}
	if parts[len(parts)-1] != "" {
		return nil, errf(ErrMalformed, "credential", "", "does not end with '~' (key-binding JWTs are not used)")
	}
	var w grantWire
	t, err := parse("credential", parts[0], GrantType, true, &w)
	if err != nil {
		return nil, err
	}
	dev, err := w.check()
	if err != nil {
		return nil, err
	}
	g := &GrantCredential{
		GrantBase: GrantBase{
			Issuer: w.Iss, ID: w.Jti, IssuedAt: unix(w.Iat), NotBefore: unix(w.Nbf),
			Class: w.Lic.Class, TypeCode: w.Lic.TypeCode, Name: w.Lic.Name, IssuerName: w.Lic.IssuerName,
			IssuedOn: w.Lic.IssuedOn, ValidFrom: w.Lic.ValidFrom, ValidUntil: w.Lic.ValidUntil,
			Status: *w.Status.StatusList, Device: dev, Audience: w.Aud, Grant: w.Grant,
		},
		KeyID: t.Header.Kid, SD: w.SD, JWT: parts[0], signingInput: t.SigningInput, signature: t.Signature,
	}
	if w.Exp != nil {
		g.Expires = unix(w.Exp)
	}
	seen := make(map[string]bool)
	for i, enc := range parts[1 : len(parts)-1] {
		d, err := ParseDisclosure(enc)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Part = fmt.Sprintf("%d", i)
			}
			return nil, err
		}
		if _, found := slices.BinarySearch(g.SD, d.Digest); !found {
			return nil, errf(ErrMismatch, "disclosure", fmt.Sprintf("%d", i), "its digest is not in _sd")
		}
		if seen[d.Key] {
			return nil, errf(ErrMalformed, "disclosure", fmt.Sprintf("%d", i), "%s disclosed twice", d.Key)
		}
		seen[d.Key] = true
		g.Disclosures = append(g.Disclosures, d)
	}
	return g, nil
}

// StatusFunc reads a copy's status from its status list; the relying
// party reads the list as a counter does. An error is reported as
// ErrStatus.
type StatusFunc func(credential.StatusRef) (statuslist.Status, error)

// VerifyOptions is what a relying party knows when it checks a grant
// credential.
type VerifyOptions struct {
	Bundle  *trust.Bundle    // verified under the pinned root (trust.Verify)
	Catalog *catalog.Catalog // nil means catalog.Default()
	RP      string           // the relying party's own id: aud
	Grant   string           // the grant it fetched
	Status  StatusFunc       // required
	Now     time.Time        // zero means time.Now()
}

// Verified is a grant credential that passed every check.
type Verified struct {
	Credential *GrantCredential
	Fields     map[string]string // the disclosed fields, exactly the consented ones
	Consent    *Consent
	Request    *Request
	Status     statuslist.Status // statuslist.Valid
}

// VerifyGrantCredential does the five checks of docs/consent.md §6:
//
//  1. the issuer JWT's signature with the bundle's key named kid, a key
//     of the agency iss names, allowed lic.class and neither retired nor
//     compromised at iat; the licence within nbf … exp at now;
//  2. aud is opts.RP and grant is opts.Grant;
//  3. every disclosure's digest in _sd, no key twice, every key a field
//     of lic.class and every value valid for its field;
//  4. the consent's signature with cnf, request_sm3 over requestJWS (a
//     request of opts.RP for lic.class whose id the consent names),
//     licence the copy, decision approve, and the disclosed keys exactly
//     the consent's fields;
//  5. opts.Status gives statuslist.Valid for the status entry.
func VerifyGrantCredential(sdjwt, consentJWS, requestJWS string, opts VerifyOptions) (*Verified, error) {
	switch {
	case opts.Bundle == nil:
		return nil, errf(ErrUnknownKey, "credential", "", "no trust bundle")
	case opts.Status == nil:
		return nil, errf(ErrStatus, "credential", "status", "no status reader")
	}
	now, cat := opts.Now, opts.Catalog
	if now.IsZero() {
		now = time.Now()
	}
	if cat == nil {
		cat = catalog.Default()
	}
	g, err := ParseGrantCredential(sdjwt)
	if err != nil {
		return nil, err
	}
	// 1. The issuer JWT and its key.
	cl, err := g.checkIssuer(opts.Bundle, cat, now)
	if err != nil {
		return nil, err
	}
	// 2. Whom it is for.
	switch {
	case g.Audience != opts.RP:
		return nil, errf(ErrMismatch, "credential", "aud", "%s, this party is %s", quote(g.Audience), quote(opts.RP))
	case g.Grant != opts.Grant:
		return nil, errf(ErrMismatch, "credential", "grant", "%s, the grant fetched is %s", quote(g.Grant), quote(opts.Grant))
	}
	// 3. The disclosures against the catalogue.
	fields := g.Fields()
	for _, d := range g.Disclosures {
		f, ok := cl.Field(d.Key)
		if !ok {
			return nil, errf(ErrField, "disclosure", d.Key, "not a field of %s", cl.Key)
		}
		if err := f.Validate(d.Value); err != nil {
			return nil, &Error{Token: "disclosure", Part: d.Key, Reason: ErrField, Err: err}
		}
	}
	// 4. The consent and the request it answers.
	c, r, err := g.checkConsent(consentJWS, requestJWS, opts)
	if err != nil {
		return nil, err
	}
	// 5. The copy's status.
	st, err := opts.Status(g.Status)
	if err != nil {
		return nil, &Error{Token: "credential", Part: "status", Reason: ErrStatus, Detail: "reading the status list", Err: err}
	}
	if st != statuslist.Valid {
		return nil, errf(ErrStatus, "credential", "status", "the copy is %v", st)
	}
	return &Verified{Credential: g, Fields: fields, Consent: c, Request: r, Status: st}, nil
}

// checkIssuer is check 1: the signature, the key's authority, the class
// and the validity window. It returns the class.
func (g *GrantCredential) checkIssuer(b *trust.Bundle, cat *catalog.Catalog, now time.Time) (*catalog.Class, error) {
	keys := b.Resolver().IssuerKeys(g.KeyID)
	if len(keys) == 0 {
		return nil, errf(ErrUnknownKey, "credential", "kid", "%s is not a key of the trust bundle", quote(g.KeyID))
	}
	var k *credential.IssuerKey
	for i := range keys {
		if keys[i].Public != nil && gm.VerifyRS(keys[i].Public, g.signingInput, g.signature) == nil {
			k = &keys[i]
			break
		}
	}
	if k == nil {
		return nil, errf(ErrSignature, "credential", "", "no key %s verifies it", g.KeyID)
	}
	cl, ok := cat.Lookup(g.Class)
	if !ok || cl.Key != g.Class {
		return nil, errf(ErrField, "credential", "lic.class", "%s is not a class of the catalogue", quote(g.Class))
	}
	at := g.IssuedAt
	switch {
	case cl.TypeCode != g.TypeCode:
		return nil, errf(ErrMismatch, "credential", "lic.type_code", "%s, the class's is %s", quote(g.TypeCode), cl.TypeCode)
	case k.AgencyCode != g.Issuer:
		return nil, errf(ErrKey, "credential", "iss", "key %s is agency %s's, not %s", g.KeyID, k.AgencyCode, quote(g.Issuer))
	case !slices.Contains(k.Classes, cl.Key) && !slices.Contains(k.Classes, cl.TypeCode):
		return nil, errf(ErrKey, "credential", "lic.class", "key %s may not sign %s", g.KeyID, cl.Key)
	case !k.CompromisedSince.IsZero() && !at.Before(k.CompromisedSince):
		return nil, errf(ErrKey, "credential", "iat", "signed %s, key compromised since %s", at.Format(time.RFC3339), k.CompromisedSince.UTC().Format(time.RFC3339))
	case !k.RetiredSince.IsZero() && !at.Before(k.RetiredSince):
		return nil, errf(ErrKey, "credential", "iat", "signed %s, key retired since %s", at.Format(time.RFC3339), k.RetiredSince.UTC().Format(time.RFC3339))
	case at.Before(k.NotBefore) || !k.NotAfter.IsZero() && at.After(k.NotAfter):
		return nil, errf(ErrKey, "credential", "iat", "signed %s, outside the key's certificate validity", at.Format(time.RFC3339))
	case at.After(now.Add(ProofSkew)):
		return nil, errf(ErrExpired, "credential", "iat", "signed %s, in the future", at.Format(time.RFC3339))
	case now.Before(g.NotBefore):
		return nil, errf(ErrExpired, "credential", "nbf", "the licence is valid from %s", g.NotBefore.Format(time.RFC3339))
	case !g.Expires.IsZero() && !now.Before(g.Expires):
		return nil, errf(ErrExpired, "credential", "exp", "the licence expired at %s", g.Expires.Format(time.RFC3339))
	}
	return cl, nil
}

// checkConsent is check 4: the consent is the copy holder's approval of
// this party's request, for exactly the fields disclosed.
func (g *GrantCredential) checkConsent(consentJWS, requestJWS string, opts VerifyOptions) (*Consent, *Request, error) {
	c, err := ParseConsent(consentJWS)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.verify(g.Device, requestJWS)
	if err != nil {
		return nil, nil, err
	}
	lk := opts.Bundle.LedgerKey
	if lk == nil {
		return nil, nil, errf(ErrUnknownKey, "request", "kid", "the trust bundle names no ledger key to check the request's signature with")
	}
	if err := verifyLedgerSig(lk, r); err != nil {
		return nil, nil, err
	}
	lic, _, _ := strings.Cut(c.Licence, "#")
	switch {
	case c.Decision != Approve:
		return nil, nil, errf(ErrRefused, "consent", "decision", "%s", c.Decision)
	case lic != g.ID && c.Licence != g.ID:
		return nil, nil, errf(ErrMismatch, "consent", "licence", "neither jti nor a copy of it")
	case r.RP.ID != opts.RP:
		return nil, nil, errf(ErrMismatch, "request", "rp", "%s, this party is %s", quote(r.RP.ID), quote(opts.RP))
	case r.Class != g.Class:
		return nil, nil, errf(ErrMismatch, "request", "class", "%s, the credential's is %s", quote(r.Class), quote(g.Class))
	}
	consented := make(map[string]bool, len(c.Fields))
	for _, k := range c.Fields {
		consented[k] = true
	}
	for _, d := range g.Disclosures {
		if !consented[d.Key] {
			return nil, nil, errf(ErrWidened, "disclosure", d.Key, "disclosed without the holder's consent")
		}
	}
	if len(g.Disclosures) != len(c.Fields) {
		disclosed := g.Fields()
		for _, k := range c.Fields {
			if _, ok := disclosed[k]; !ok {
				return nil, nil, errf(ErrMismatch, "consent", "fields", "%s consented but not disclosed", k)
			}
		}
	}
	return c, r, nil
}

// verifyLedgerSig checks the request's signature with the bundle's
// ledger key.
func verifyLedgerSig(k *trust.Key, r *Request) error {
	cert, err := gm.ParseCertificate(k.Cert)
	if err != nil {
		return &Error{Token: "request", Reason: ErrUnknownKey, Detail: "the bundle's ledger key", Err: err}
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return errf(ErrUnknownKey, "request", "", "the bundle's ledger key is not an SM2 key")
	}
	return verifySig("request", pub, r.signingInput, r.signature)
}
