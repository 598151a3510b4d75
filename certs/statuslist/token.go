package statuslist

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"elicense/certs/jws"
	"elicense/internal/gm"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/golang-jwt/jwt/v5"
)

// TokenType is the typ header of a Status List Token.
const TokenType = "statuslist+jwt"

// Meta is what a signed list says about itself besides its entries.
type Meta struct {
	// URI is where the list is published: the JWT sub, equal to the
	// status_list.uri in every licence that points into the list.
	URI string
	// Version numbers the list's publications; each is greater than the
	// last (private claim "ver"). Deltas go from one version to another.
	Version uint64
	// IssuedAt is the signing time (iat). Sign truncates it to seconds;
	// zero means now.
	IssuedAt time.Time
	// ExpiresAt is when the list stops being usable (exp); required, after
	// IssuedAt. Sign truncates it to seconds.
	ExpiresAt time.Time
	// TTL is how long a consumer may cache the list before it fetches a
	// fresh one (ttl, whole seconds); zero leaves the claim out.
	TTL time.Duration
}

// Signed is a verified status list and what its token said.
type Signed struct {
	Meta
	List  *List
	KeyID string // kid of the key that signed it
}

// Status returns the status of entry idx, like List.Get.
func (s *Signed) Status(idx int) (Status, error) { return s.List.Get(idx) }

// Age returns how long ago the list was signed (never negative).
func (s *Signed) Age(now time.Time) time.Duration { return max(now.Sub(s.IssuedAt), 0) }

// Expired reports whether the list has expired at now: exp is the first
// instant at which it must not be used (RFC 7519 §4.1.4), so now equal to
// exp is expired.
func (s *Signed) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// KeyFunc returns the public keys whose key ID is kid (several when IDs
// collide), or none. It must be safe for concurrent use.
type KeyFunc func(kid string) []*ecdsa.PublicKey

// VerifyOptions configure Parse and ParseDelta.
type VerifyOptions struct {
	// URI is the list the caller expects (from the licence's status
	// reference or the trust bundle); the token's sub must equal it.
	// Required.
	URI string
	// Keys finds the signer's key by kid. Required.
	Keys KeyFunc
	// Now is the time to check exp against; zero means time.Now().
	Now time.Time
	// ClockSkew is allowed past exp.
	ClockSkew time.Duration
	// MaxEntries bounds the inflated list; 0 means DefaultMaxEntries.
	MaxEntries int
	// MinVersion refuses, with ErrRollback, a list older than the version
	// the caller already holds. Zero accepts any version.
	MinVersion uint64
}

func (o *VerifyOptions) check() error {
	if o.URI == "" {
		return errors.New("statuslist: VerifyOptions.URI is empty")
	}
	if o.Keys == nil {
		return errors.New("statuslist: VerifyOptions.Keys is nil")
	}
	return nil
}

func (o *VerifyOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// claims is the JWT payload of a Status List Token.
type claims struct {
	Sub        string     `json:"sub"`
	Iat        *int64     `json:"iat"`
	Exp        *int64     `json:"exp"`
	TTL        *int64     `json:"ttl,omitempty"`
	Ver        *uint64    `json:"ver"`
	StatusList *listClaim `json:"status_list"`
}

// listClaim is the status_list claim.
type listClaim struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// checkMeta validates m for signing and returns it with whole-second times.
func checkMeta(m Meta) (Meta, error) {
	if m.IssuedAt.IsZero() {
		m.IssuedAt = time.Now()
	}
	m.IssuedAt = m.IssuedAt.Truncate(time.Second)
	m.ExpiresAt = m.ExpiresAt.Truncate(time.Second)
	switch {
	case m.URI == "":
		return m, fmt.Errorf("%w: empty URI", ErrMalformed)
	case m.Version == 0:
		return m, fmt.Errorf("%w: version 0 (versions start at 1)", ErrMalformed)
	case !m.ExpiresAt.After(m.IssuedAt):
		return m, fmt.Errorf("%w: exp %s is not after iat %s", ErrMalformed, m.ExpiresAt.Format(time.RFC3339), m.IssuedAt.Format(time.RFC3339))
	case m.TTL < 0 || m.TTL > maxTTL || m.TTL%time.Second != 0:
		return m, fmt.Errorf("%w: ttl %v is not a whole number of seconds between 0 and %v", ErrMalformed, m.TTL, maxTTL)
	}
	return m, nil
}

// Sign returns the Status List Token (a compact JWS, alg SM2SM3, typ
// statuslist+jwt, kid) for list as described by meta.
func Sign(list *List, meta Meta, signer crypto.Signer, kid string) (string, error) {
	if list == nil {
		return "", fmt.Errorf("%w: nil list", ErrMalformed)
	}
	meta, err := checkMeta(meta)
	if err != nil {
		return "", err
	}
	if kid == "" {
		return "", fmt.Errorf("%w: empty key ID", ErrMalformed)
	}
	iat, exp, ver := meta.IssuedAt.Unix(), meta.ExpiresAt.Unix(), meta.Version
	c := claims{
		Sub: meta.URI, Iat: &iat, Exp: &exp, Ver: &ver,
		StatusList: &listClaim{Bits: Bits, Lst: base64.RawURLEncoding.EncodeToString(EncodeList(list))},
	}
	if meta.TTL > 0 {
		ttl := int64(meta.TTL / time.Second)
		c.TTL = &ttl
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return signJWS(payload, signer, TokenType, kid)
}

// signJWS signs payload through golang-jwt with the SM2SM3 method.
func signJWS(payload []byte, signer crypto.Signer, typ, kid string) (string, error) {
	t := jwt.NewWithClaims(gm.SigningMethodSM2SM3, rawClaims(payload))
	t.Header["typ"] = typ
	t.Header["kid"] = kid
	s, err := t.SignedString(signer)
	if err != nil {
		return "", fmt.Errorf("statuslist: signing: %w", err)
	}
	return s, nil
}

// rawClaims is a JWT payload marshalled beforehand. Its jwt.Claims methods
// are never used: this package checks claims itself.
type rawClaims []byte

func (c rawClaims) MarshalJSON() ([]byte, error)               { return c, nil }
func (rawClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (rawClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (rawClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (rawClaims) GetIssuer() (string, error)                   { return "", nil }
func (rawClaims) GetSubject() (string, error)                  { return "", nil }
func (rawClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// Parse verifies a Status List Token and returns the list. Checks, in
// order: the compact form and header (alg SM2SM3, typ statuslist+jwt, a
// kid, no crit); the key lookup (ErrUnknownKey); the signature
// (ErrBadSignature); the claims: sub equal to opts.URI (ErrWrongList), iat,
// exp after iat, ttl positive if present, ver ≥ 1, status_list with bits 2;
// the list itself (ErrMalformed, ErrTooLarge); ver against opts.MinVersion
// (ErrRollback); and last exp against opts.Now (ErrExpired).
//
// On ErrExpired the token is otherwise valid and Parse returns it with the
// error; on any other error it returns nil.
func Parse(token string, opts VerifyOptions) (*Signed, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	payload, kid, err := verifyJWS(token, TokenType, opts.Keys)
	if err != nil {
		return nil, err
	}
	var c claims
	// Strict JSON (GM-08): a repeated member, or a name that matches a
	// claim only case-insensitively, is refused rather than read.
	if err := jsonv2.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if c.Sub != opts.URI {
		return nil, fmt.Errorf("%w: sub %q, want %q", ErrWrongList, c.Sub, opts.URI)
	}
	switch {
	case c.Iat == nil:
		return nil, fmt.Errorf("%w: no iat", ErrMalformed)
	case c.Exp == nil:
		return nil, fmt.Errorf("%w: no exp", ErrMalformed)
	case *c.Iat < 0:
		return nil, fmt.Errorf("%w: iat before 1970", ErrMalformed)
	case *c.Exp <= *c.Iat:
		return nil, fmt.Errorf("%w: exp is not after iat", ErrMalformed)
	case c.TTL != nil && *c.TTL <= 0:
		return nil, fmt.Errorf("%w: ttl %d is not positive", ErrMalformed, *c.TTL)
	case c.TTL != nil && *c.TTL > int64(maxTTL/time.Second):
		return nil, fmt.Errorf("%w: ttl %d is too large", ErrMalformed, *c.TTL)
	case c.Ver == nil || *c.Ver == 0:
		return nil, fmt.Errorf("%w: no ver (or ver 0)", ErrMalformed)
	case c.StatusList == nil:
		return nil, fmt.Errorf("%w: no status_list", ErrMalformed)
	case c.StatusList.Bits != Bits:
		return nil, fmt.Errorf("%w: status_list.bits %d, want %d", ErrMalformed, c.StatusList.Bits, Bits)
	}
	z, err := base64.RawURLEncoding.Strict().DecodeString(c.StatusList.Lst)
	if err != nil {
		return nil, fmt.Errorf("%w: status_list.lst: %v", ErrMalformed, err)
	}
	list, err := DecodeList(z, opts.MaxEntries)
	if err != nil {
		return nil, err
	}
	s := &Signed{
		Meta: Meta{
			URI:       c.Sub,
			Version:   *c.Ver,
			IssuedAt:  time.Unix(*c.Iat, 0).UTC(),
			ExpiresAt: time.Unix(*c.Exp, 0).UTC(),
		},
		List:  list,
		KeyID: kid,
	}
	if c.TTL != nil {
		s.TTL = time.Duration(*c.TTL) * time.Second
	}
	if s.Version < opts.MinVersion {
		return nil, fmt.Errorf("%w: version %d, already holding %d", ErrRollback, s.Version, opts.MinVersion)
	}
	if now := opts.now(); !now.Before(s.ExpiresAt.Add(opts.ClockSkew)) {
		return s, fmt.Errorf("%w: exp %s, now %s", ErrExpired, s.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return s, nil
}

// maxTTL bounds ttl so that it fits a time.Duration.
const maxTTL = 100 * 365 * 24 * time.Hour

// verifyJWS takes a compact JWS apart with certs/jws, checks its
// signature and returns its payload and kid.
func verifyJWS(token, typ string, keys KeyFunc) (payload []byte, kid string, err error) {
	t, err := jws.Parse(token, jws.Expect{Typ: typ, RequireKid: true})
	if err != nil {
		reason := ErrMalformed
		if errors.Is(err, jws.ErrSignatureSize) {
			reason = ErrBadSignature // what verifying it would say
		}
		return nil, "", fmt.Errorf("%w: %w", reason, err)
	}
	if err := verifySig(keys, t.Header.Kid, t.SigningInput, t.Signature); err != nil {
		return nil, "", err
	}
	return t.Payload, t.Header.Kid, nil
}

// verifySig checks an r‖s signature over msg with every key named kid.
func verifySig(keys KeyFunc, kid string, msg, sig []byte) error {
	pubs := keys(kid)
	if len(pubs) == 0 {
		return fmt.Errorf("%w: no key with ID %q", ErrUnknownKey, kid)
	}
	for _, pub := range pubs {
		err := gm.VerifyRS(pub, msg, sig)
		if err == nil {
			return nil
		}
		if errors.Is(err, gm.ErrMalformedSignature) {
			return fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
	}
	return fmt.Errorf("%w: no key with ID %q verifies the signature", ErrBadSignature, kid)
}
