package credential

import (
	"crypto/ecdsa"
	"errors"
	"slices"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/jws"
	"elicense/internal/chinatime"
	"elicense/internal/gm"

	jsonv2 "github.com/go-json-experiment/json"
)

// IssuerKey is one agency signing key as a verifier knows it (from a trust
// bundle or a PKI directory).
type IssuerKey struct {
	Public     *ecdsa.PublicKey
	AgencyCode string   // 颁发机构代码 the key speaks for
	Classes    []string // class keys or type codes the key may sign
	NotBefore  time.Time
	NotAfter   time.Time // zero: no end
	// RetiredSince, when set, is when the key was retired: what it claims
	// to have signed at or after that time is refused (ErrKeyRetired);
	// what it signed before stays valid, so a rotation needs no re-issue.
	RetiredSince time.Time
	// CompromisedSince, when set, rejects what the key signed at or after
	// that time. Signing times are the signer's word, and a thief can
	// backdate: for QR cores, Genuine (when set) decides instead.
	CompromisedSince time.Time
	// Genuine, for a compromised key, is the issuer's list of the QR
	// cores the key signed before CompromisedSince; nil means none is
	// held and every QR core of the key is refused.
	Genuine GenuineSet
}

// GenuineSet is what a verifier knows a compromised key genuinely signed:
// the issuer builds it from its records when it marks the key compromised
// (certs/trust.GenuineSet is the implementation). Implementations must be
// safe for concurrent use.
type GenuineSet interface {
	// HasQRCore reports whether core, the exact bytes of a QR core
	// naming status position (list, index), is one the issuer signed
	// with the key before its compromise.
	HasQRCore(list string, index uint64, core []byte) bool
}

func (k *IssuerKey) allows(cl *catalog.Class) bool {
	return slices.Contains(k.Classes, cl.Key) || slices.Contains(k.Classes, cl.TypeCode)
}

// KeyResolver finds verification keys. IssuerKeys returns every key whose
// key ID (gm.KeyIDString of its certificate) is kid, or none; it must be
// safe for concurrent use and must not block on the network on a
// counter's hot path.
type KeyResolver interface {
	IssuerKeys(kid string) []IssuerKey
}

// KeySet is a KeyResolver backed by a map, for tests and small deployments.
type KeySet map[string][]IssuerKey

// IssuerKeys implements KeyResolver.
func (s KeySet) IssuerKeys(kid string) []IssuerKey { return s[kid] }

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Catalog   *catalog.Catalog // nil means catalog.Default()
	Keys      KeyResolver
	Now       time.Time     // zero means time.Now()
	ClockSkew time.Duration // allowance on nbf/exp
}

// Verify checks a compact JWS credential and returns the licence it
// carries. Checks, in order: structure and header, key lookup by kid,
// signature, key scope (agency, class, validity, compromise), class and
// field validity, then the licence's validity window at Now.
func Verify(token string, opts VerifyOptions) (*License, error) {
	cat := opts.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	if opts.Keys == nil {
		return nil, errf(ErrUnknownKey, "", "no key resolver configured")
	}
	t, err := jws.Parse(token, jws.Expect{Typ: TokenType, RequireKid: true})
	if err != nil {
		return nil, jwsError(err)
	}
	kid := t.Header.Kid
	keys := opts.Keys.IssuerKeys(kid)
	if len(keys) == 0 {
		return nil, errf(ErrUnknownKey, "kid", "no key with ID %q", kid)
	}
	used, err := verifyingKey(keys, t.SigningInput, t.Signature, kid)
	if err != nil {
		return nil, err
	}
	var c wireClaims
	if err := jsonv2.Unmarshal(t.Payload, &c); err != nil {
		return nil, &Error{Reason: ErrMalformed, Field: "payload", Err: err}
	}
	if used.AgencyCode != c.Issuer {
		return nil, errf(ErrIssuerMismatch, "iss", "credential names %q, key belongs to %q", c.Issuer, used.AgencyCode)
	}
	l, err := fromClaims(&c)
	if err != nil {
		return nil, err
	}
	cl, ok := cat.ByKey(l.Class)
	if !ok {
		return nil, errf(ErrUnknownClass, "class", "%q is not a class key of the catalogue", l.Class)
	}
	if !used.allows(cl) {
		return nil, errf(ErrClassNotAllowed, "class", "key of %s may not sign %s", used.AgencyCode, cl.Key)
	}
	if err := used.authorityAt(l.SignedAt); err != nil {
		return nil, err
	}
	if err := validate(l, cl); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if now.Add(opts.ClockSkew).Before(l.ValidFrom) {
		return nil, errf(ErrNotYetValid, "nbf", "valid from %s", dateString(l.ValidFrom))
	}
	if !l.ValidUntil.IsZero() && !now.Add(-opts.ClockSkew).Before(chinatime.EndOfDay(l.ValidUntil)) {
		return nil, errf(ErrExpired, "exp", "valid until %s", dateString(l.ValidUntil))
	}
	return l, nil
}

// verifyingKey returns the key among keys (those with key ID kid) whose
// signature sig over signed verifies.
func verifyingKey(keys []IssuerKey, signed, sig []byte, kid string) (*IssuerKey, error) {
	for i := range keys {
		// Key ID collisions are possible in principle: try each.
		err := gm.VerifyRS(keys[i].Public, signed, sig)
		if err == nil {
			return &keys[i], nil
		}
		if errors.Is(err, gm.ErrMalformedSignature) {
			return nil, &Error{Reason: ErrBadSignature, Field: "signature", Err: err}
		}
	}
	return nil, errf(ErrBadSignature, "", "no key with ID %q verifies the signature", kid)
}

// authorityAt checks that the key could sign at signedAt (the
// credential's iat): not compromised or retired by then, and within its
// validity.
func (k *IssuerKey) authorityAt(signedAt time.Time) error {
	if !k.CompromisedSince.IsZero() && !signedAt.Before(k.CompromisedSince) {
		return errf(ErrKeyCompromised, "iat", "signed %s, key compromised since %s", signedAt.UTC().Format(time.RFC3339), k.CompromisedSince.UTC().Format(time.RFC3339))
	}
	if !k.RetiredSince.IsZero() && !signedAt.Before(k.RetiredSince) {
		return errf(ErrKeyRetired, "iat", "signed %s, key retired since %s", signedAt.UTC().Format(time.RFC3339), k.RetiredSince.UTC().Format(time.RFC3339))
	}
	if signedAt.Before(k.NotBefore) || (!k.NotAfter.IsZero() && signedAt.After(k.NotAfter)) {
		return errf(ErrKeyNotValid, "iat", "signed %s, outside the key's validity", signedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// jwsError reports an error of jws.Parse as this package's: a signature
// of the wrong size as ErrBadSignature (what verifying it would give),
// anything else as ErrMalformed, with the part of the token it concerns as
// the field.
func jwsError(err error) error {
	reason, field := ErrMalformed, ""
	if errors.Is(err, jws.ErrSignatureSize) {
		reason = ErrBadSignature
	}
	if je, ok := errors.AsType[*jws.Error](err); ok && je.Part != "token" {
		field = je.Part
	}
	return &Error{Reason: reason, Field: field, Err: err}
}
