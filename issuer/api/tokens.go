package api

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"elicense/internal/gm"
	"elicense/issuer/service"
	"elicense/issuer/state"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
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
	store    state.Tokens
	now      func() time.Time
	parser   *jwt.Parser

	// verified caches tokens whose signature and claims checked out, by
	// SM3 of the token: an operator sends the same token with every
	// request, and its SM2 verification was a seventh of an issuance's
	// CPU. Expiry and revocation are still checked on every use.
	mu       sync.Mutex
	verified map[[32]byte]verifiedToken
}

type verifiedToken struct {
	op  service.Operator
	c   *tokenClaims
	exp time.Time
}

// maxCachedTokens bounds the cache; past it, it starts afresh.
const maxCachedTokens = 10_000

// NewTokens returns a token authority for the given key. audience names
// this deployment so tokens of another one are refused.
func NewTokens(signer crypto.Signer, audience string, st state.Tokens, now func() time.Time) *Tokens {
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
	key := gm.SM3([]byte(token))
	t.mu.Lock()
	v, ok := t.verified[key]
	t.mu.Unlock()
	if ok && t.now().Before(v.exp) {
		if err := t.checkRevoked(v.c.ID); err != nil {
			return service.Operator{}, nil, err
		}
		return v.op, v.c, nil
	}
	op, c, err := t.verify(token)
	if err != nil {
		return op, c, err
	}
	t.mu.Lock()
	if t.verified == nil || len(t.verified) >= maxCachedTokens {
		t.verified = map[[32]byte]verifiedToken{}
	}
	t.verified[key] = verifiedToken{op: op, c: c, exp: c.ExpiresAt.Time}
	t.mu.Unlock()
	return op, c, nil
}

func (t *Tokens) checkRevoked(jti string) error {
	if t.store == nil {
		return nil
	}
	revoked, err := t.store.TokenRevoked(jti)
	if err != nil {
		return err
	}
	if revoked {
		return fmt.Errorf("%w: token %s was revoked", ErrBadToken, jti)
	}
	return nil
}

func (t *Tokens) verify(token string) (service.Operator, *tokenClaims, error) {
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
	if err := t.checkRevoked(c.ID); err != nil {
		return service.Operator{}, nil, err
	}
	return service.Operator{Subject: c.Subject, Role: c.Role, Agency: c.Agency, Classes: c.Classes}, &c, nil
}

// tokenRequest is the body of POST /v1/tokens.
type tokenRequest struct {
	Subject string       `json:"subject"`
	Role    service.Role `json:"role"`
	Agency  string       `json:"agency,omitempty"`
	Classes []string     `json:"classes,omitempty"`
	TTL     string       `json:"ttl"` // Go duration, e.g. "720h"
}

// mintToken creates an operator token through the service's checks
// (service.MintToken), the ones `elicense token create` applies offline.
func (a *API) mintToken(c echo.Context) error {
	var req tokenRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", "ttl", "ttl must be a duration like 720h: %v", err)
	}
	tok, err := a.o.Service.MintToken(c.Request().Context(), operator(c), a.o.Tokens,
		service.TokenRequest{Subject: req.Subject, Role: req.Role, Agency: req.Agency, Classes: req.Classes, TTL: ttl})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, tok)
}
