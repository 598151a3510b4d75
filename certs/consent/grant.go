package consent

import (
	"crypto"
	"crypto/ecdsa"
	"time"

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
	IssuedAt  time.Time // iat: when the grant credential is signed
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
	return GrantBase{}, errNotYet
}

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
// bytes, a non-empty key.
func ParseDisclosure(encoded string) (*Disclosure, error) {
	return nil, errNotYet
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

// IssueGrantCredential signs the issuer JWT of a grant credential with
// the agency key named kid: base's claims and _sd listing one disclosure
// for every field in fields, each with a fresh salt. It returns the JWT
// and each field's disclosure, by key; the caller keeps them with the
// grant and sends only the granted ones (Present).
func IssueGrantCredential(agency crypto.Signer, kid string, base GrantBase, fields map[string]string) (jwt string, disclosures map[string]string, err error) {
	return "", nil, errNotYet
}

// Present gives the SD-JWT a relying party receives: the JWT followed by
// the disclosures of exactly keys, in the order given, each followed by
// '~' (jwt~d1~d2~). A key with no disclosure is left out.
func Present(jwt string, disclosures map[string]string, keys []string) string {
	return ""
}

// ParseGrantCredential checks a presented grant credential's form: the
// issuer JWT's header (with a kid) and claims, _sd_alg sm3, _sd sorted
// digests without repeats, every disclosure well formed, its digest in
// _sd, and no key disclosed twice.
func ParseGrantCredential(sdjwt string) (*GrantCredential, error) {
	return nil, errNotYet
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
	return nil, errNotYet
}
