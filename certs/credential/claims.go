package credential

import (
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"math"
	"time"

	"elicense/internal/chinatime"
	"elicense/internal/gm"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType is the JWS "typ" of a full credential.
const TokenType = "elicense+jwt"

// claims is the JWS payload. Registered claims carry the identities and
// validity window (iss = 颁发机构代码, sub = 持证主体代码, jti = 证照标识,
// nbf/exp = 有效期 in China time, exp absent for 长期); "lic" carries the
// rest of the GB/T 36903 metadata and the class fields.
type claims struct {
	jwt.RegisteredClaims
	Lic    licClaim     `json:"lic"`
	Cnf    *cnfClaim    `json:"cnf,omitempty"`
	Status *statusClaim `json:"status,omitempty"`
}

type licClaim struct {
	Class          string            `json:"class"`
	TypeCode       string            `json:"type_code"`
	Name           string            `json:"name"`
	Number         string            `json:"number,omitempty"`
	IssuerName     string            `json:"issuer_name"`
	IssuedOn       string            `json:"issued_on"`
	HolderName     string            `json:"holder_name"`
	HolderCodeType HolderCodeType    `json:"holder_code_type"`
	ValidFrom      string            `json:"valid_from"`
	ValidUntil     string            `json:"valid_until"`
	Fields         map[string]string `json:"fields"`
	Seal           string            `json:"seal,omitempty"`
}

// cnfClaim is RFC 7800 proof of possession with an SM2 JWK.
type cnfClaim struct {
	JWK jwk `json:"jwk"`
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// statusClaim follows the IETF Token Status List "status" claim.
type statusClaim struct {
	StatusList StatusRef `json:"status_list"`
}

func dateString(t time.Time) string { return t.In(chinatime.Zone).Format(DateLayout) }

func parseDate(s string) (time.Time, error) {
	return time.ParseInLocation(DateLayout, s, chinatime.Zone)
}

// toClaims fills the payload from a licence already checked by validate.
func toClaims(l *License) (*claims, error) {
	c := &claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    l.IssuerCode,
			Subject:   l.HolderCode,
			ID:        l.ID,
			IssuedAt:  jwt.NewNumericDate(l.SignedAt),
			NotBefore: jwt.NewNumericDate(l.ValidFrom),
		},
		Lic: licClaim{
			Class:          l.Class,
			TypeCode:       l.TypeCode,
			Name:           l.Name,
			Number:         l.Number,
			IssuerName:     l.IssuerName,
			IssuedOn:       dateString(l.IssuedOn),
			HolderName:     l.HolderName,
			HolderCodeType: l.HolderCodeType,
			ValidFrom:      dateString(l.ValidFrom),
			ValidUntil:     LongTerm,
			Fields:         l.Fields,
			Seal:           l.Seal,
		},
	}
	if !l.ValidUntil.IsZero() {
		c.Lic.ValidUntil = dateString(l.ValidUntil)
		c.ExpiresAt = jwt.NewNumericDate(chinatime.EndOfDay(l.ValidUntil))
	}
	if l.Device != nil {
		j, err := deviceJWK(l.Device)
		if err != nil {
			return nil, err
		}
		c.Cnf = &cnfClaim{JWK: j}
	}
	if l.Status != nil {
		c.Status = &statusClaim{StatusList: *l.Status}
	}
	return c, nil
}

func deviceJWK(pub *ecdsa.PublicKey) (jwk, error) {
	raw, err := gm.MarshalPublicKey(pub)
	if err != nil {
		return jwk{}, &Error{Reason: ErrBadField, Field: "cnf", Err: err}
	}
	enc := base64.RawURLEncoding
	return jwk{Kty: "EC", Crv: "SM2", X: enc.EncodeToString(raw[1:33]), Y: enc.EncodeToString(raw[33:])}, nil
}

func (j jwk) publicKey() (*ecdsa.PublicKey, error) {
	if j.Kty != "EC" || j.Crv != "SM2" {
		return nil, fmt.Errorf("device key is kty %q crv %q, want EC SM2", j.Kty, j.Crv)
	}
	x, err1 := base64.RawURLEncoding.DecodeString(j.X)
	y, err2 := base64.RawURLEncoding.DecodeString(j.Y)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("device key coordinates are not 32-byte base64url values")
	}
	raw := append(append([]byte{4}, x...), y...)
	return gm.ParsePublicKey(raw)
}

// wireClaims is the payload as Verify reads it: the registered claims as
// plain fields rather than golang-jwt's types, whose custom decoding cost
// a tenth of a verification.
type wireClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	ID        string       `json:"jti"`
	IssuedAt  *float64     `json:"iat"`
	NotBefore *float64     `json:"nbf"`
	ExpiresAt *float64     `json:"exp"`
	Lic       licClaim     `json:"lic"`
	Cnf       *cnfClaim    `json:"cnf"`
	Status    *statusClaim `json:"status"`
}

func numericDate(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// fromClaims converts a verified payload back into a License. Structural
// problems are ErrMalformed; value problems are left to validate.
func fromClaims(c *wireClaims) (*License, error) {
	l := &License{
		Class:          c.Lic.Class,
		TypeCode:       c.Lic.TypeCode,
		Name:           c.Lic.Name,
		Number:         c.Lic.Number,
		ID:             c.ID,
		IssuerName:     c.Lic.IssuerName,
		IssuerCode:     c.Issuer,
		HolderName:     c.Lic.HolderName,
		HolderCode:     c.Subject,
		HolderCodeType: c.Lic.HolderCodeType,
		Fields:         c.Lic.Fields,
		Seal:           c.Lic.Seal,
	}
	if c.IssuedAt == nil {
		return nil, errf(ErrMalformed, "iat", "missing")
	}
	l.SignedAt = numericDate(*c.IssuedAt)
	var err error
	if l.IssuedOn, err = parseDate(c.Lic.IssuedOn); err != nil {
		return nil, &Error{Reason: ErrMalformed, Field: "issued_on", Err: err}
	}
	if l.ValidFrom, err = parseDate(c.Lic.ValidFrom); err != nil {
		return nil, &Error{Reason: ErrMalformed, Field: "valid_from", Err: err}
	}
	if c.Lic.ValidUntil != LongTerm {
		if l.ValidUntil, err = parseDate(c.Lic.ValidUntil); err != nil {
			return nil, &Error{Reason: ErrMalformed, Field: "valid_until", Err: err}
		}
	}
	// The registered time claims must agree with the printed dates, or a
	// verifier reading one and a wallet reading the other would disagree.
	if c.NotBefore == nil || !numericDate(*c.NotBefore).Equal(l.ValidFrom) {
		return nil, errf(ErrMalformed, "nbf", "does not match valid_from %s", c.Lic.ValidFrom)
	}
	switch {
	case l.ValidUntil.IsZero() && c.ExpiresAt != nil:
		return nil, errf(ErrMalformed, "exp", "present on a 长期 licence")
	case !l.ValidUntil.IsZero() && (c.ExpiresAt == nil || !numericDate(*c.ExpiresAt).Equal(chinatime.EndOfDay(l.ValidUntil))):
		return nil, errf(ErrMalformed, "exp", "does not match valid_until %s", c.Lic.ValidUntil)
	}
	if c.Cnf != nil {
		if l.Device, err = c.Cnf.JWK.publicKey(); err != nil {
			return nil, &Error{Reason: ErrMalformed, Field: "cnf", Err: err}
		}
	}
	if c.Status != nil {
		s := c.Status.StatusList
		l.Status = &s
	}
	return l, nil
}
