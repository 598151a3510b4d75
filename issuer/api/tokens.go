package api

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"elicense/internal/gm"
	"elicense/issuer/service"
	"elicense/issuer/store"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType is the "typ" of operator tokens.
const TokenType = "elicense-op+jwt"

// tokenClaims are an operator token's claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	Role    service.Role `json:"role"`
	Agency  string       `json:"agency,omitempty"`
	Classes []string     `json:"classes,omitempty"`
}

// Tokens mints and checks operator tokens: SM2SM3 JWTs signed by the
// service's token key, expiring, revocable by ID.
type Tokens struct {
	signer   crypto.Signer
	pub      *ecdsa.PublicKey
	audience string
	store    *store.Store
	now      func() time.Time
	parser   *jwt.Parser
}

// NewTokens returns a token authority for the given key. audience names
// this deployment so tokens of another one are refused.
func NewTokens(signer crypto.Signer, audience string, st *store.Store, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		signer: signer, pub: signer.Public().(*ecdsa.PublicKey), audience: audience, store: st, now: now,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{gm.AlgSM2SM3}), jwt.WithAudience(audience),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(now), jwt.WithLeeway(30*time.Second)),
	}
}

// ErrBadToken is wrapped by every token verification failure.
var ErrBadToken = errors.New("bad operator token")

// Mint issues a token for op valid for ttl, returning it and its ID.
func (t *Tokens) Mint(op service.Operator, ttl time.Duration) (string, string, error) {
	if !op.Role.Valid() {
		return "", "", fmt.Errorf("%w: unknown role %q", ErrBadToken, op.Role)
	}
	if op.Role != service.RoleAdmin && op.Agency == "" {
		return "", "", fmt.Errorf("%w: role %s needs an agency", ErrBadToken, op.Role)
	}
	if ttl <= 0 || ttl > 366*24*time.Hour {
		return "", "", fmt.Errorf("%w: lifetime %v outside (0, 1 year]", ErrBadToken, ttl)
	}
	id := make([]byte, 16)
	rand.Read(id)
	jti := hex.EncodeToString(id)
	now := t.now()
	tok := jwt.NewWithClaims(gm.SigningMethodSM2SM3, tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: op.Subject, Audience: jwt.ClaimStrings{t.audience}, ID: jti,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role: op.Role, Agency: op.Agency, Classes: op.Classes,
	})
	tok.Header["typ"] = TokenType
	s, err := tok.SignedString(t.signer)
	return s, jti, err
}

// Verify checks a token and returns the operator it names.
func (t *Tokens) Verify(token string) (service.Operator, *tokenClaims, error) {
	var c tokenClaims
	tok, err := t.parser.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		if tok.Header["typ"] != TokenType {
			return nil, fmt.Errorf("typ %v, want %s", tok.Header["typ"], TokenType)
		}
		return t.pub, nil
	})
	if err != nil || !tok.Valid {
		return service.Operator{}, nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if !c.Role.Valid() || c.Subject == "" || c.ID == "" {
		return service.Operator{}, nil, fmt.Errorf("%w: missing role, subject or ID", ErrBadToken)
	}
	revoked, err := t.store.TokenRevoked(c.ID)
	if err != nil {
		return service.Operator{}, nil, err
	}
	if revoked {
		return service.Operator{}, nil, fmt.Errorf("%w: token %s was revoked", ErrBadToken, c.ID)
	}
	return service.Operator{Subject: c.Subject, Role: c.Role, Agency: c.Agency, Classes: c.Classes}, &c, nil
}
