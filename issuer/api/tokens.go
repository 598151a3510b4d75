package api

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/jws"
	"elicense/internal/gm"
	"elicense/issuer/service"
	"elicense/issuer/state"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// TokenType is the "typ" of operator tokens.
const TokenType = "elicense-op+jwt"

// DefaultTokenLeeway is how long after its "exp" (and before its "nbf" or
// "iat") a token is still taken, for clocks that disagree a little.
const DefaultTokenLeeway = 30 * time.Second

// MaxTokenLeeway bounds TokenOptions.Leeway: a leeway is for clock skew,
// not a way to extend tokens.
const MaxTokenLeeway = 10 * time.Minute

// maxTokenLen bounds the token text Verify looks at. An operator token
// is a few hundred bytes; one with every class named stays under 2 KiB.
const maxTokenLen = 16 << 10

// tokenClaims are an operator token's claims (RFC 7519 §4.1 names).
type tokenClaims struct {
	Subject   string       `json:"sub"`
	Audience  []string     `json:"aud"`
	ID        string       `json:"jti"`
	IssuedAt  int64        `json:"iat"`
	ExpiresAt int64        `json:"exp"`
	Role      service.Role `json:"role"`
	Agency    string       `json:"agency,omitempty"`
	Classes   []string     `json:"classes,omitempty"`
}

// wireClaims decodes a token's claims as RFC 7519 allows them: "aud" a
// string or an array of strings, NumericDates any JSON number. Members
// this server does not know are ignored (§4); a duplicate member is an
// error (jsonv2's default, allowed by §4).
type wireClaims struct {
	Subject   string         `json:"sub"`
	Audience  jsontext.Value `json:"aud"`
	ID        string         `json:"jti"`
	IssuedAt  *float64       `json:"iat"`
	ExpiresAt *float64       `json:"exp"`
	NotBefore *float64       `json:"nbf"`
	Role      service.Role   `json:"role"`
	Agency    string         `json:"agency"`
	Classes   []string       `json:"classes"`
}

// TokenOptions configure a token authority.
type TokenOptions struct {
	Signer crypto.Signer // the token key (SM2)
	// Audience names this deployment: tokens are minted for it alone,
	// and a token whose "aud" names anything else is refused.
	Audience string
	Store    state.Tokens     // revoked token IDs; nil: none are revoked
	Now      func() time.Time // nil: time.Now
	// Leeway is how far past "exp" (or before "nbf" and "iat") a token is
	// still taken, within [0, MaxTokenLeeway]; zero means
	// DefaultTokenLeeway and a negative value no leeway at all.
	Leeway time.Duration
}

// Tokens mints and checks operator tokens: SM2SM3 JWTs signed by the
// service's token key, expiring, revocable by ID.
//
// Verification follows RFC 7519 §7.2 with RFC 7515's rules for the
// header, read by certs/jws: alg SM2SM3 and typ elicense-op+jwt exactly,
// no "crit" (§4.1.11: an extension this server does not understand must
// refuse the token, and it understands none), no x5c; the signature; then
// the claims: "exp" required, "nbf" and "iat" not in the future, each
// within the leeway; "aud" a string or an array (§4.1.3), every value of
// which must be this deployment's audience, so that a token that is also
// good elsewhere is not taken here; "sub", "jti" and a known role present.
type Tokens struct {
	signer   crypto.Signer
	pub      *ecdsa.PublicKey
	audience string
	store    state.Tokens
	now      func() time.Time
	leeway   time.Duration

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
	exp time.Time // the last instant the token is taken (exp + leeway)
}

// maxCachedTokens bounds the cache; past it, it starts afresh.
const maxCachedTokens = 10_000

// NewTokens returns a token authority for the given key with the default
// leeway. audience names this deployment so tokens of another one are
// refused.
func NewTokens(signer crypto.Signer, audience string, st state.Tokens, now func() time.Time) *Tokens {
	t, err := NewTokensWith(TokenOptions{Signer: signer, Audience: audience, Store: st, Now: now})
	if err != nil {
		panic(err) // cannot happen: the default leeway is in range
	}
	return t
}

// NewTokensWith returns a token authority configured by o.
func NewTokensWith(o TokenOptions) (*Tokens, error) {
	switch {
	case o.Leeway == 0:
		o.Leeway = DefaultTokenLeeway
	case o.Leeway < 0:
		o.Leeway = 0
	case o.Leeway > MaxTokenLeeway:
		return nil, fmt.Errorf("token leeway %v is more than %v", o.Leeway, MaxTokenLeeway)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	pub, ok := o.Signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("token key is not an SM2 key")
	}
	return &Tokens{signer: o.Signer, pub: pub, audience: o.Audience, store: o.Store, now: o.Now, leeway: o.Leeway}, nil
}

// Leeway is the allowance for clock skew this authority applies.
func (t *Tokens) Leeway() time.Duration { return t.leeway }

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
	payload, err := jsonv2.Marshal(tokenClaims{
		Subject: op.Subject, Audience: []string{t.audience}, ID: jti,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
		Role: op.Role, Agency: op.Agency, Classes: op.Classes,
	})
	if err != nil {
		return "", "", err
	}
	header := `{"alg":"` + gm.AlgSM2SM3 + `","typ":"` + TokenType + `"}`
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := gm.SignRS(t.signer, []byte(input))
	if err != nil {
		return "", "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), jti, nil
}

// Verify checks a token and returns the operator it names.
func (t *Tokens) Verify(token string) (service.Operator, *tokenClaims, error) {
	if len(token) > maxTokenLen {
		return service.Operator{}, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadToken, len(token), maxTokenLen)
	}
	key := gm.SM3([]byte(token))
	t.mu.Lock()
	v, ok := t.verified[key]
	t.mu.Unlock()
	if ok && !t.now().After(v.exp) {
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
	t.verified[key] = verifiedToken{op: op, c: c, exp: time.Unix(c.ExpiresAt, 0).Add(t.leeway)}
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

func badToken(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadToken, fmt.Sprintf(format, args...))
}

func (t *Tokens) verify(token string) (service.Operator, *tokenClaims, error) {
	tok, err := jws.Parse(token, jws.Expect{Typ: TokenType})
	if err != nil {
		return service.Operator{}, nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if err := gm.VerifyRS(t.pub, []byte(tok.SigningInput), tok.Signature); err != nil {
		return service.Operator{}, nil, fmt.Errorf("%w: signature: %v", ErrBadToken, err)
	}
	c, err := t.claims(tok.Payload)
	if err != nil {
		return service.Operator{}, nil, err
	}
	if err := t.checkRevoked(c.ID); err != nil {
		return service.Operator{}, nil, err
	}
	return service.Operator{Subject: c.Subject, Role: c.Role, Agency: c.Agency, Classes: c.Classes}, c, nil
}

// claims decodes and checks a verified token's claims.
func (t *Tokens) claims(payload []byte) (*tokenClaims, error) {
	var w wireClaims
	if err := jsonv2.Unmarshal(payload, &w); err != nil {
		return nil, badToken("claims: %v", err)
	}
	aud, err := audiences(w.Audience)
	if err != nil {
		return nil, err
	}
	for _, a := range aud {
		if a != t.audience {
			return nil, badToken("aud %q is not this deployment (%q)", a, t.audience)
		}
	}
	now := t.now()
	exp, err := numericDate("exp", w.ExpiresAt)
	if err != nil {
		return nil, err
	}
	if now.After(exp.Add(t.leeway)) {
		return nil, badToken("expired at %s", exp.UTC().Format(time.RFC3339))
	}
	for _, d := range []struct {
		name string
		v    *float64
	}{{"iat", w.IssuedAt}, {"nbf", w.NotBefore}} {
		if d.v == nil && d.name == "nbf" {
			continue
		}
		at, err := numericDate(d.name, d.v)
		if err != nil {
			return nil, err
		}
		if at.After(now.Add(t.leeway)) {
			return nil, badToken("%s %s is in the future", d.name, at.UTC().Format(time.RFC3339))
		}
	}
	if !w.Role.Valid() || w.Subject == "" || w.ID == "" {
		return nil, badToken("missing role, subject or ID")
	}
	return &tokenClaims{Subject: w.Subject, Audience: aud, ID: w.ID, IssuedAt: int64(*w.IssuedAt), ExpiresAt: exp.Unix(),
		Role: w.Role, Agency: w.Agency, Classes: w.Classes}, nil
}

// audiences reads "aud": one string or an array of strings (RFC 7519
// §4.1.3). It is required here: every token names its deployment.
func audiences(v jsontext.Value) ([]string, error) {
	switch v.Kind() {
	case '"':
		var s string
		if err := jsonv2.Unmarshal(v, &s); err != nil {
			return nil, badToken("aud: %v", err)
		}
		return []string{s}, nil
	case '[':
		var ss []string
		if err := jsonv2.Unmarshal(v, &ss); err != nil {
			return nil, badToken("aud: want a string or an array of strings: %v", err)
		}
		if len(ss) == 0 {
			return nil, badToken("aud is an empty array")
		}
		return ss, nil
	case 0:
		return nil, badToken("no aud")
	default:
		return nil, badToken("aud: want a string or an array of strings, not %s", v.Kind())
	}
}

// maxNumericDate is the year 5138: a NumericDate past it is not a date a
// token means.
const maxNumericDate = 1e11

// numericDate reads a required NumericDate (RFC 7519 §2: seconds since
// the epoch, possibly fractional), to the second.
func numericDate(name string, v *float64) (time.Time, error) {
	switch {
	case v == nil:
		return time.Time{}, badToken("no %s", name)
	case *v < 0 || *v > maxNumericDate:
		return time.Time{}, badToken("%s %v is not a date", name, *v)
	}
	return time.Unix(int64(*v), 0), nil
}

// checkScope refuses, at use, a token whose agency is not configured in
// this deployment or whose classes are not in the catalogue or not
// allowed to that agency: the checks minting applies, since the PKI can
// change after a token is minted, and a token not minted here at all
// (signed with a leaked or test key) must not name what minting refuses.
func (a *API) checkScope(op service.Operator) error {
	switch {
	case op.Role == service.RoleAdmin:
		if op.Agency != "" || len(op.Classes) > 0 {
			return badToken("an admin token names no agency or classes")
		}
		return nil
	case op.Agency == "":
		return badToken("role %s needs an agency", op.Role)
	case op.Role != service.RoleOperator && len(op.Classes) > 0:
		return badToken("only an operator token names classes")
	}
	ag, ok := a.o.Service.PKI().Agency(op.Agency)
	if !ok {
		return badToken("agency %q is not configured here", op.Agency)
	}
	cat := catalog.Default()
	for _, k := range op.Classes {
		cl, ok := cat.Lookup(k)
		if !ok || cl.Key != k {
			return badToken("licence class %q is not in the catalogue", k)
		}
		if !ag.Policy.AllowsClass(cl) {
			return badToken("agency %s is not certified for %s", ag.Code, k)
		}
	}
	return nil
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
