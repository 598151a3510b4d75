package credential

import (
	"crypto"
	"errors"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
)

// SignOptions says who signs and against which catalogue.
type SignOptions struct {
	Catalog *catalog.Catalog // nil means catalog.Default()
	Signer  crypto.Signer    // the agency's SM2 key
	KeyID   string           // gm.KeyIDString of the agency certificate
	Now     func() time.Time // nil means time.Now; sets iat
}

// Sign validates l against its class and returns the compact JWS. It fills
// TypeCode and Name from the class when empty, and sets SignedAt. A
// licence from NewLicense is not validated again unless something validate
// reads has changed since.
func Sign(l *License, opts SignOptions) (string, error) {
	cat := opts.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	if opts.Signer == nil || opts.KeyID == "" {
		return "", errf(ErrUnknownKey, "", "no signer or key ID given")
	}
	cl, ok := cat.Lookup(l.Class)
	if !ok {
		return "", errf(ErrUnknownClass, "class", "%q is not in the catalogue", l.Class)
	}
	if l.TypeCode == "" {
		l.TypeCode = cl.TypeCode
	}
	if l.Name == "" {
		l.Name = cl.NameZH
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	// JWS numeric dates have whole seconds; keep the licence equal to what
	// a verifier will read back.
	l.SignedAt = now().Truncate(time.Second)
	l.IssuedOn = midnight(l.IssuedOn)
	l.ValidFrom = midnight(l.ValidFrom)
	if !l.ValidUntil.IsZero() {
		l.ValidUntil = midnight(l.ValidUntil)
	}
	if !l.checked.unchanged(l, cl) {
		if err := validate(l, cl); err != nil {
			return "", err
		}
	}
	c, err := toClaims(l)
	if err != nil {
		return "", err
	}
	tok := appendSigningInput(make([]byte, 0, 4096), c, opts.KeyID)
	sig, err := gm.SignRS(opts.Signer, tok)
	if err != nil {
		return "", &Error{Reason: ErrBadSignature, Err: err}
	}
	tok = append(tok, '.')
	return string(appendBase64(tok, sig)), nil
}

// midnight truncates t to its date in China time.
func midnight(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return chinatime.Midnight(t)
}

// validate checks a licence against its class: metadata, identifiers,
// fields, and that the holder named in the metadata is the one in the
// fields. It is shared by Sign and Verify so that nothing the issuer would
// refuse to sign is ever accepted.
func validate(l *License, cl *catalog.Class) error {
	if l.TypeCode != cl.TypeCode {
		return errf(ErrBadField, "type_code", "%q is not the type code of class %s (%s)", l.TypeCode, cl.Key, cl.TypeCode)
	}
	if l.Name != cl.NameZH {
		return errf(ErrBadField, "name", "%q is not the name of class %s (%s)", l.Name, cl.Key, cl.NameZH)
	}
	// Class fields first, so an error names the field as the agency
	// knows it (uscc) rather than the claim it is copied into (sub).
	if err := cl.Validate(l.Fields); err != nil {
		var ve *catalog.ValidationError
		field := ""
		if errors.As(err, &ve) && len(ve.Fields) > 0 {
			field = ve.Fields[0].Field
		}
		return &Error{Reason: ErrBadField, Field: field, Err: err}
	}
	if err := ident.ValidateUSCC(l.IssuerCode); err != nil {
		return &Error{Reason: ErrBadField, Field: "iss", Err: err}
	}
	if l.IssuerName == "" {
		return errf(ErrBadField, "issuer_name", "empty")
	}
	id, err := ident.ParseLicenseID(l.ID)
	if err != nil {
		return &Error{Reason: ErrBadField, Field: "jti", Err: err}
	}
	if id.TypeCode != cl.TypeCode {
		return errf(ErrBadField, "jti", "identifier type code %s is not class %s's %s", id.TypeCode, cl.Key, cl.TypeCode)
	}
	if id.IssuerCode != l.IssuerCode {
		return errf(ErrBadField, "jti", "identifier issuer code %s is not the issuer %s", id.IssuerCode, l.IssuerCode)
	}
	if err := cl.HolderCodeValidate(l.HolderCode); err != nil {
		return &Error{Reason: ErrBadField, Field: "sub", Err: err}
	}
	want := HolderResidentID
	// An organisation's code has just passed as a 统一社会信用代码.
	if cl.HolderKind == catalog.HolderOrganization || ident.ValidateUSCC(l.HolderCode) == nil {
		want = HolderUSCC
	}
	if l.HolderCodeType != want {
		return errf(ErrBadField, "holder_code_type", "%q, but the holder code is a %s", l.HolderCodeType, want)
	}
	if l.HolderName == "" {
		return errf(ErrBadField, "holder_name", "empty")
	}
	if v := l.Fields[cl.HolderNameField]; v != l.HolderName {
		return errf(ErrBadField, cl.HolderNameField, "field says %q but the holder is %q", v, l.HolderName)
	}
	if v := l.Fields[cl.HolderCodeField]; v != l.HolderCode {
		return errf(ErrBadField, cl.HolderCodeField, "field says %q but the holder code is %q", v, l.HolderCode)
	}
	if l.IssuedOn.IsZero() || l.ValidFrom.IsZero() {
		return errf(ErrBadField, "valid_from", "issue date and start of validity are required")
	}
	if !l.ValidUntil.IsZero() && l.ValidUntil.Before(l.ValidFrom) {
		return errf(ErrBadField, "valid_until", "%s is before valid_from %s", dateString(l.ValidUntil), dateString(l.ValidFrom))
	}
	return checkValidity(l, cl)
}

// checkValidity holds the metadata's validity to the class policy and to
// the validity printed in the class's own field (营业期限, 有效期限 …), so a
// licence cannot say one thing in its fields and another in nbf/exp.
func checkValidity(l *License, cl *catalog.Class) error {
	p := cl.Validity
	switch {
	case p.Kind == catalog.ValidityNone && !l.ValidUntil.IsZero():
		return errf(ErrBadField, "valid_until", "class %s has no end of validity", cl.Key)
	case l.ValidUntil.IsZero() && p.Kind != catalog.ValidityNone && !p.LongTermAllowed:
		return errf(ErrBadField, "valid_until", "class %s does not allow 长期 validity", cl.Key)
	}
	term, ok := cl.ValidityTerm(l.Fields)
	if !ok {
		return nil
	}
	// Compare calendar days; format them only for the message.
	if term.LongTerm {
		ok = l.ValidUntil.IsZero()
	} else {
		ok = term.End.IsZero() || !l.ValidUntil.IsZero() && sameDay(term.End, l.ValidUntil.In(chinatime.Zone))
	}
	if ok && (!term.HasStart() || sameDay(term.Start, l.ValidFrom.In(chinatime.Zone))) {
		return nil
	}
	until := LongTerm
	if !l.ValidUntil.IsZero() {
		until = dateString(l.ValidUntil)
	}
	printed := LongTerm
	if !term.LongTerm && !term.End.IsZero() {
		printed = term.End.Format(DateLayout)
	}
	if (term.LongTerm || !term.End.IsZero()) && printed != until {
		return errf(ErrBadField, p.Field, "field says the licence ends %s, valid_until says %s", printed, until)
	}
	if term.HasStart() && term.Start.Format(DateLayout) != dateString(l.ValidFrom) {
		return errf(ErrBadField, p.Field, "field says the licence starts %s, valid_from says %s", term.Start.Format(DateLayout), dateString(l.ValidFrom))
	}
	return nil
}

// sameDay reports whether a and b fall on the same date, each in its own
// zone: whether they format alike as DateLayout.
func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}
