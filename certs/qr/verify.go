package qr

import (
	"bytes"
	"encoding/hex"
	"slices"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// Token is a decoded, not yet verified, QR token.
type Token struct {
	env     envelope
	body    body
	core    core
	version int // 1 or 2, from the prefix
}

// Decode parses token text. It checks structure only: prefix, Base45,
// compression, CBOR shape and canonical encoding, field sizes, a status
// reference in the core and, in version 2, a signing time. Signatures and
// meaning are checked by Verify.
func Decode(text string) (*Token, error) {
	payload, version, err := decodeText(text)
	if err != nil {
		return nil, err
	}
	t := &Token{version: version}
	if t.env, err = parsePayload(version, payload); err != nil {
		return nil, err
	}
	if err := decodeCanonical("body", t.env.Body, &t.body); err != nil {
		return nil, err
	}
	if err := decodeCanonical("core", t.body.Core, &t.core); err != nil {
		return nil, err
	}
	b, c := &t.body, &t.core
	switch {
	case len(b.KeyID) != gm.KeyIDSize:
		return nil, errf(ErrMalformed, "kid", "%d bytes, want %d", len(b.KeyID), gm.KeyIDSize)
	case len(b.IssuerSig) != gm.SignatureSize:
		return nil, errf(ErrMalformed, "issuer signature", "%d bytes, want %d", len(b.IssuerSig), gm.SignatureSize)
	case len(t.env.DeviceSig) != 0 && len(t.env.DeviceSig) != gm.SignatureSize:
		return nil, errf(ErrMalformed, "device signature", "%d bytes, want %d", len(t.env.DeviceSig), gm.SignatureSize)
	case len(c.Root) != RootSize:
		return nil, errf(ErrMalformed, "root", "%d bytes, want %d", len(c.Root), RootSize)
	case c.Leaves == 0:
		return nil, errf(ErrMalformed, "root", "commits to no leaves")
	case len(c.Device) != 0 && len(c.Device) != 33:
		return nil, errf(ErrMalformed, "device key", "%d bytes, want 33", len(c.Device))
	case len(t.env.DeviceSig) == 0 && b.PresentedAt != 0:
		return nil, errf(ErrMalformed, "presented_at", "a static token carries no presentation time")
	case len(t.env.DeviceSig) != 0 && b.PresentedAt == 0:
		return nil, errf(ErrMalformed, "presented_at", "a presentation must carry its time")
	case c.StatusList == "":
		// Without a status reference a token could never be revoked: no
		// issuer makes one, so none is accepted.
		return nil, errf(ErrMalformed, "status", "the core names no status list")
	case version == 2 && c.SignedAt == 0:
		return nil, errf(ErrMalformed, "signed_at", "a version 2 core must carry its signing time")
	case version == 1 && c.SignedAt != 0:
		return nil, errf(ErrMalformed, "signed_at", "a version 1 token with a version 2 core")
	}
	for i, d := range b.Disclosures {
		wantSalt := SaltSize
		if d.Field == credentialField {
			wantSalt = 0
		}
		if len(d.Salt) != wantSalt || d.Leaf >= c.Leaves {
			return nil, errf(ErrMalformed, "disclosure", "#%d (field %d): salt of %d bytes or leaf %d of %d", i, d.Field, len(d.Salt), d.Leaf, c.Leaves)
		}
	}
	return t, nil
}

// Bound reports whether the token is a holder-bound presentation.
func (t *Token) Bound() bool { return len(t.env.DeviceSig) != 0 }

// Version is the token's format version: 2, or 1 for a token made before
// cores carried a signing time.
func (t *Token) Version() int { return t.version }

// KeyID is the issuer key ID in hex.
func (t *Token) KeyID() string { return hex.EncodeToString(t.body.KeyID) }

// DeviceKey is the core's device key (a 33-byte compressed SM2 point) of
// a bound licence copy, nil for an unbound core; unverified until Verify
// succeeds. A counter seals it into its receipt (certs/receipt).
func (t *Token) DeviceKey() []byte { return bytes.Clone(t.core.Device) }

// Digest identifies this exact presentation (SM3 of the device-signed
// body), for a verifier's replay cache.
func (t *Token) Digest() [gm.SM3Size]byte { return gm.SM3(t.env.Body) }

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Catalog   *catalog.Catalog // nil means catalog.Default()
	Keys      credential.KeyResolver
	Now       time.Time     // zero means time.Now()
	MaxAge    time.Duration // how long a presentation is accepted; zero means DefaultMaxAge
	ClockSkew time.Duration // allowance between phone and counter clocks; zero means DefaultClockSkew
}

// Defaults for presentation freshness: phones refresh every 30 s.
const (
	DefaultMaxAge    = 60 * time.Second
	DefaultClockSkew = 30 * time.Second
)

// Result is what a verified token says.
type Result struct {
	Class            *catalog.Class
	LicenseID        ident.LicenseID
	HolderName       string
	HolderCode       string
	ValidFrom        time.Time
	ValidUntil       time.Time         // zero: 长期
	Fields           map[string]string // always-shown plus disclosed fields
	Disclosed        []string          // keys of the disclosed optional fields
	Bound            bool              // a device-signed presentation (false: static, check the holder's identity)
	PresentedAt      time.Time
	StatusList       string
	StatusIndex      uint64
	CredentialDigest string    // hex SM3 of the full JWS, when the holder disclosed it
	SignedAt         time.Time // when the issuer signed the core; zero for a version 1 token
	IssuerKey        *credential.IssuerKey
}

// Verify checks, in order: the issuer key and signature over the core, the
// key's scope (agency, class) and authority at the core's signing time
// (checkKey: compromise, retirement, certificate validity), the core's content
// against its class, each disclosure against the committed root, the
// device signature and presentation time, and finally the licence's
// validity window at Now. Each step is a method below, in that order.
func (t *Token) Verify(opts VerifyOptions) (*Result, error) {
	cat := opts.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	if opts.Keys == nil {
		return nil, errf(credential.ErrUnknownKey, "", "no key resolver configured")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	key, err := t.issuerKey(opts.Keys)
	if err != nil {
		return nil, err
	}
	cl, id, signedAt, err := t.scope(cat, key, now)
	if err != nil {
		return nil, err
	}
	res, err := t.content(cl, id, key, signedAt)
	if err != nil {
		return nil, err
	}
	if err := t.disclosures(res); err != nil {
		return nil, err
	}
	if err := t.binding(res, now, opts.MaxAge, opts.ClockSkew); err != nil {
		return nil, err
	}
	if err := res.validAt(now); err != nil {
		return nil, err
	}
	return res, nil
}

// issuerKey returns the key, among those with the token's key ID, whose
// signature over the core verifies.
func (t *Token) issuerKey(resolver credential.KeyResolver) (*credential.IssuerKey, error) {
	b := &t.body
	signed := append([]byte(coreContext), b.Core...)
	keys := resolver.IssuerKeys(t.KeyID())
	if len(keys) == 0 {
		return nil, errf(credential.ErrUnknownKey, "kid", "no key with ID %s", t.KeyID())
	}
	for i := range keys {
		if gm.VerifyRS(keys[i].Public, signed, b.IssuerSig) == nil {
			return &keys[i], nil
		}
	}
	return nil, errf(ErrBadSignature, "issuer signature", "no key with ID %s verifies the core", t.KeyID())
}

// scope checks that key may sign the core's class for its agency and had
// the authority to at the core's signing time (checkKey), and returns the
// class, the licence ID and the signing time (zero for a version 1 core).
func (t *Token) scope(cat *catalog.Catalog, key *credential.IssuerKey, now time.Time) (*catalog.Class, ident.LicenseID, time.Time, error) {
	c := &t.core
	id := ident.LicenseID{TypeCode: c.ID.TypeCode, IssuerCode: key.AgencyCode, Serial: c.ID.Serial, Version: int(c.ID.Version)}
	if err := id.Validate(); err != nil {
		return nil, id, time.Time{}, &Error{Reason: credential.ErrBadField, Field: "license id", Err: err}
	}
	cl, ok := cat.ByTypeCode(id.TypeCode)
	if !ok {
		return nil, id, time.Time{}, errf(credential.ErrUnknownClass, "license id", "type code %s is not in the catalogue", id.TypeCode)
	}
	if !slices.Contains(key.Classes, cl.Key) && !slices.Contains(key.Classes, cl.TypeCode) {
		return nil, id, time.Time{}, errf(credential.ErrClassNotAllowed, "license id", "key of %s may not sign %s", key.AgencyCode, cl.Key)
	}
	var signedAt time.Time
	if c.SignedAt != 0 {
		signedAt = time.Unix(int64(min(c.SignedAt, 1<<40)), 0)
	}
	if err := checkKey(key, c, t.body.Core, signedAt, now); err != nil {
		return nil, id, time.Time{}, err
	}
	return cl, id, signedAt, nil
}

// content checks the core's holder and always-shown fields against the
// class and returns the result they make.
func (t *Token) content(cl *catalog.Class, id ident.LicenseID, key *credential.IssuerKey, signedAt time.Time) (*Result, error) {
	c := &t.core
	if err := cl.HolderCodeValidate(c.HolderCode); err != nil {
		return nil, &Error{Reason: credential.ErrBadField, Field: "holder code", Err: err}
	}
	if c.HolderName == "" {
		return nil, errf(credential.ErrBadField, "holder name", "empty")
	}
	// The clerk reads the name: it passes its field's validator as the
	// issuer's did (no control characters, no stray spaces, its length).
	if f, ok := cl.Field(cl.HolderNameField); ok {
		if err := f.Validate(c.HolderName); err != nil {
			return nil, &Error{Reason: credential.ErrBadField, Field: "holder name", Err: err}
		}
	}
	res := &Result{
		Class: cl, LicenseID: id, HolderName: c.HolderName, HolderCode: c.HolderCode,
		ValidFrom: fromDays(c.ValidFrom), ValidUntil: dayOrZero(c.ValidUntil),
		StatusList: c.StatusList, StatusIndex: c.StatusIndex, IssuerKey: key, Fields: map[string]string{},
		SignedAt: signedAt,
	}
	for n, v := range c.Fields {
		f, err := classField(cl, n)
		if err != nil {
			return nil, err
		}
		if f.QR != catalog.QRAlways || f.Key == cl.HolderNameField || f.Key == cl.HolderCodeField {
			return nil, errf(credential.ErrBadField, f.Key, "not an always-shown field of %s", cl.Key)
		}
		if err := f.Validate(v); err != nil {
			return nil, &Error{Reason: credential.ErrBadField, Field: f.Key, Err: err}
		}
		res.Fields[f.Key] = v
	}
	if f, ok := cl.Field(cl.Validity.Field); ok && f.QR == catalog.QRAlways {
		if res.Fields[f.Key] != "" {
			if err := sameWindow(cl, res); err != nil {
				return nil, err
			}
		} else if v, ok := validityText(cl, res.ValidFrom, res.ValidUntil); ok {
			res.Fields[f.Key] = v
		}
	}
	return res, nil
}

// sameWindow refuses a validity field carried in the core that states
// another window than the core's validity dates: signed, but
// contradictory, and the clerk would read the field (QR-16).
func sameWindow(cl *catalog.Class, res *Result) error {
	term, ok := cl.ValidityTerm(res.Fields)
	if !ok {
		return nil
	}
	sameDay := func(a, b time.Time) bool {
		ay, am, ad := a.Date()
		by, bm, bd := b.Date()
		return ay == by && am == bm && ad == bd
	}
	agree := term.LongTerm == res.ValidUntil.IsZero() &&
		(term.LongTerm || term.End.IsZero() || sameDay(term.End, res.ValidUntil)) &&
		(!term.HasStart() || sameDay(term.Start, res.ValidFrom))
	if !agree {
		return errf(credential.ErrBadField, cl.Validity.Field, "states another validity than the core's dates")
	}
	return nil
}

// disclosures checks each disclosure against the committed root and the
// class, and adds the disclosed fields (or the credential digest) to res.
func (t *Token) disclosures(res *Result) error {
	b, c, cl := &t.body, &t.core, res.Class
	leaves := int(c.Leaves)
	seen := map[uint16]bool{}
	for _, d := range b.Disclosures {
		if seen[d.Leaf] {
			return errf(ErrBadDisclosure, "disclosure", "leaf %d disclosed twice", d.Leaf)
		}
		seen[d.Leaf] = true
		if !included(leafBytes(d.Field, d.Salt, d.Value), int(d.Leaf), leaves, d.Proof, c.Root) {
			return errf(ErrBadDisclosure, "disclosure", "field %d: inclusion proof does not lead to the signed root", d.Field)
		}
		if d.Field == credentialField {
			if d.Leaf != 0 {
				return errf(ErrBadDisclosure, "credential", "credential digest at leaf %d, want 0", d.Leaf)
			}
			res.CredentialDigest = d.Value
			continue
		}
		f, err := classField(cl, d.Field)
		if err != nil {
			return err
		}
		if f.QR != catalog.QROptional {
			return errf(ErrBadDisclosure, f.Key, "not an optional field of %s", cl.Key)
		}
		if err := f.Validate(d.Value); err != nil {
			return &Error{Reason: credential.ErrBadField, Field: f.Key, Err: err}
		}
		res.Fields[f.Key] = d.Value
		res.Disclosed = append(res.Disclosed, f.Key)
	}
	return nil
}

// binding checks that the token is device-signed exactly when the core
// names a device, and for a presentation its signature and time (maxAge
// and skew zero: the defaults).
func (t *Token) binding(res *Result, now time.Time, maxAge, skew time.Duration) error {
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	if skew == 0 {
		skew = DefaultClockSkew
	}
	c := &t.core
	switch {
	case len(c.Device) == 0 && t.Bound():
		return errf(ErrBindingMismatch, "", "device signature on a licence bound to no device")
	case len(c.Device) != 0 && !t.Bound():
		return errf(ErrBindingMismatch, "", "a device-bound licence shown without a device signature (a copy?)")
	case t.Bound():
		dev, err := gm.ParsePublicKey(c.Device)
		if err != nil {
			return &Error{Reason: ErrMalformed, Field: "device key", Err: err}
		}
		if err := gm.VerifyRS(dev, append([]byte(presentationContext), t.env.Body...), t.env.DeviceSig); err != nil {
			return &Error{Reason: ErrBadDeviceSignature, Err: err}
		}
		res.Bound = true
		res.PresentedAt = time.Unix(int64(t.body.PresentedAt), 0)
		if res.PresentedAt.After(now.Add(skew)) {
			return errf(ErrPresentationFuture, "presented_at", "%s is ahead of the counter's clock", res.PresentedAt.UTC().Format(time.RFC3339))
		}
		if now.Sub(res.PresentedAt) > maxAge+skew {
			return errf(ErrPresentationStale, "presented_at", "made %s ago, accepted for %s", now.Sub(res.PresentedAt).Round(time.Second), maxAge)
		}
	}
	return nil
}

// validAt checks the licence's validity window at now.
func (res *Result) validAt(now time.Time) error {
	if now.Before(res.ValidFrom) {
		return errf(credential.ErrNotYetValid, "valid_from", "valid from %s", res.ValidFrom.Format(credential.DateLayout))
	}
	if !res.ValidUntil.IsZero() && !now.Before(res.ValidUntil.AddDate(0, 0, 1)) {
		return errf(credential.ErrExpired, "valid_until", "valid until %s", res.ValidUntil.Format(credential.DateLayout))
	}
	return nil
}

// checkKey decides whether key had authority to sign the core raw (c
// decoded) at signedAt (zero: unknown, a version 1 core):
//
//   - a compromised key: a thief can write any signing time, so only the
//     issuer's list of what the key signed before the compromise counts
//     (key.Genuine, matched on the status position and the exact core
//     bytes); a core on it is genuine, whatever time it names;
//   - a retired key: a core claiming a signing time at or after the
//     retirement, or no signing time, is refused (ErrKeyRetired);
//   - otherwise the signing time (now, when unknown) must lie within the
//     key's certificate (ErrKeyNotValid).
func checkKey(key *credential.IssuerKey, c *core, raw []byte, signedAt, now time.Time) error {
	if !key.CompromisedSince.IsZero() {
		since := key.CompromisedSince.UTC().Format(time.RFC3339)
		switch {
		case key.Genuine == nil:
			return errf(credential.ErrKeyCompromised, "kid", "key compromised since %s; no list of what it signed before is held", since)
		case !key.Genuine.HasQRCore(c.StatusList, c.StatusIndex, raw):
			return errf(credential.ErrKeyCompromised, "kid", "key compromised since %s, and this core is not one the issuer signed with it before", since)
		}
		return nil
	}
	if !key.RetiredSince.IsZero() {
		since := key.RetiredSince.UTC().Format(time.RFC3339)
		if signedAt.IsZero() {
			return errf(credential.ErrKeyRetired, "signed_at", "a version 1 core names no signing time; key retired since %s", since)
		}
		if !signedAt.Before(key.RetiredSince) {
			return errf(credential.ErrKeyRetired, "signed_at", "signed %s, key retired since %s", signedAt.UTC().Format(time.RFC3339), since)
		}
	}
	at, what := signedAt, "signed"
	if at.IsZero() {
		at, what = now, "unknown signing time, checked at"
	}
	if at.Before(key.NotBefore) || (!key.NotAfter.IsZero() && at.After(key.NotAfter)) {
		return errf(credential.ErrKeyNotValid, "signed_at", "%s %s, outside the key certificate's validity (%s to %s)", what,
			at.UTC().Format(time.RFC3339), key.NotBefore.UTC().Format(time.RFC3339), key.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// classField finds a class field by its QR field number.
func classField(cl *catalog.Class, n uint16) (*catalog.Field, error) {
	if n == credentialField || int(n) > len(cl.Fields) {
		return nil, errf(credential.ErrBadField, "fields", "field number %d is not a field of %s", n, cl.Key)
	}
	return &cl.Fields[n-1], nil
}

// included reports whether leaf data sits at index of a tree of size
// leaves whose root starts with root (the core carries a truncated root;
// see RootSize).
func included(data []byte, index, size int, proof [][]byte, root []byte) bool {
	p := make([]tlog.Hash, len(proof))
	for i, h := range proof {
		if len(h) != tlog.HashSize {
			return false
		}
		p[i] = tlog.Hash(h)
	}
	got, err := tlog.SM3.RootFromInclusionProof(tlog.SM3.HashLeaf(data), uint64(index), uint64(size), p)
	return err == nil && len(root) > 0 && bytes.HasPrefix(got[:], root)
}
