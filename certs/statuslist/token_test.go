package statuslist

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/jws"
	"elicense/internal/gm"

	"github.com/golang-jwt/jwt/v5"
)

const testURI = "https://status.example.gov.cn/lists/a1"

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// signer is a key with its ID and a KeyFunc that knows only it.
type signer struct {
	key *gm.PrivateKey
	kid string
}

func newSigner(t testing.TB, kid string) *signer {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, kid: kid}
}

func (s *signer) keys(kid string) []*ecdsa.PublicKey {
	if kid == s.kid {
		return []*ecdsa.PublicKey{s.key.PublicKey()}
	}
	return nil
}

func (s *signer) opts() VerifyOptions {
	return VerifyOptions{URI: testURI, Keys: s.keys, Now: t0.Add(time.Hour)}
}

func testMeta(version uint64) Meta {
	return Meta{URI: testURI, Version: version, IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), TTL: 12 * time.Hour}
}

func sampleList() *List {
	l := New(1 << 14)
	for i, s := range map[int]Status{3: Revoked, 4: Suspended, 100: Superseded, 16383: Revoked} {
		_ = l.Set(i, s)
	}
	return l
}

func TestSignParse(t *testing.T) {
	s := newSigner(t, "0011223344556677")
	l := sampleList()
	tok, err := Sign(l, testMeta(7), s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(tok, s.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !got.List.Equal(l) || got.Version != 7 || got.URI != testURI || got.KeyID != s.kid ||
		!got.IssuedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(24*time.Hour)) || got.TTL != 12*time.Hour {
		t.Fatalf("round trip: %+v", got.Meta)
	}
	if st, _ := got.Status(100); st != Superseded {
		t.Errorf("entry 100 = %v", st)
	}
	if got.Age(t0.Add(time.Minute)) != time.Minute || got.Age(t0.Add(-time.Hour)) != 0 {
		t.Error("Age")
	}
	if got.Expired(t0.Add(time.Hour)) || !got.Expired(t0.Add(25*time.Hour)) {
		t.Error("Expired")
	}

	// The header and claims are the draft's.
	parts := strings.Split(tok, ".")
	var h map[string]any
	var c map[string]any
	mustJSON(t, parts[0], &h)
	mustJSON(t, parts[1], &c)
	if h["alg"] != "SM2SM3" || h["typ"] != "statuslist+jwt" || h["kid"] != s.kid {
		t.Errorf("header %v", h)
	}
	sl, _ := c["status_list"].(map[string]any)
	if c["sub"] != testURI || c["iat"] != float64(t0.Unix()) || c["exp"] == nil || c["ttl"] != float64(43200) ||
		c["ver"] != float64(7) || sl["bits"] != float64(2) || sl["lst"] == nil {
		t.Errorf("claims %v", c)
	}
}

func mustJSON(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestJWTLibraryAcceptsStatusList checks interoperability: golang-jwt's own
// parser verifies our token with the SM2SM3 method.
func TestJWTLibraryAcceptsStatusList(t *testing.T) {
	s := newSigner(t, "k1")
	tok, err := Sign(sampleList(), testMeta(1), s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	p := jwt.NewParser(jwt.WithValidMethods([]string{gm.AlgSM2SM3}), jwt.WithoutClaimsValidation())
	parsed, err := p.Parse(tok, func(*jwt.Token) (any, error) { return s.key.PublicKey(), nil })
	if err != nil || !parsed.Valid {
		t.Fatalf("golang-jwt: %v", err)
	}
}

// signParts signs header64.payload64 as they are, so tests can present
// well-signed tokens whose parts are wrongly encoded.
func signParts(t *testing.T, key *gm.PrivateKey, header64, payload64 string) string {
	t.Helper()
	sig, err := gm.SignRS(key, []byte(header64+"."+payload64))
	if err != nil {
		t.Fatal(err)
	}
	return header64 + "." + payload64 + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// padded re-encodes a base64url part of JSON with padding, adding
// trailing spaces (which JSON ignores) until it needs some.
func padded(t *testing.T, part string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	for len(raw)%3 == 0 {
		raw = append(raw, ' ')
	}
	return base64.URLEncoding.EncodeToString(raw)
}

// resign re-signs tok after edit changes its header and payload JSON.
func resign(t testing.TB, tok string, key *gm.PrivateKey, editHeader, editPayload func(string) string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	signed := base64.RawURLEncoding.EncodeToString([]byte(editHeader(string(h)))) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(editPayload(string(p))))
	sig, err := gm.SignRS(key, []byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func same(s string) string { return s }

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("resign: " + old + " not in " + s)
		}
		return strings.Replace(s, old, new, 1)
	}
}

func TestParseErrors(t *testing.T) {
	s := newSigner(t, "k1")
	other := newSigner(t, "k1")
	l := sampleList()
	var tok string
	// A signature whose base64url holds a '-' or '_', so that its
	// standard-alphabet form differs ("std base64 signature"); SM2
	// signatures are random, and one in twenty has neither.
	for !strings.ContainsAny(tok[strings.LastIndexByte(tok, '.')+1:], "-_") {
		var err error
		if tok, err = Sign(l, testMeta(5), s.key, s.kid); err != nil {
			t.Fatal(err)
		}
	}
	noTTL := testMeta(5)
	noTTL.TTL = 0
	tokNoTTL, _ := Sign(l, noTTL, s.key, s.kid)
	big, _ := Sign(New(1<<20), testMeta(5), s.key, s.kid)
	bits1 := resign(t, tok, s.key, same, replace(`"bits":2`, `"bits":1`))
	lst := `"lst":"` + base64.RawURLEncoding.EncodeToString(EncodeList(l))
	parts := strings.Split(tok, ".")

	cases := []struct {
		name  string
		token string
		edit  func(*VerifyOptions)
		want  error
	}{
		{"not a JWS", "abc", nil, ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], nil, ErrMalformed},
		{"four parts", tok + ".x", nil, ErrMalformed},
		{"bad base64 header", "!" + tok, nil, ErrMalformed},
		{"typ JWT", resign(t, tok, s.key, replace(`"statuslist+jwt"`, `"JWT"`), same), nil, ErrMalformed},
		{"alg ES256", resign(t, tok, s.key, replace(`"SM2SM3"`, `"ES256"`), same), nil, ErrMalformed},
		{"no kid", resign(t, tok, s.key, replace(`"kid":"k1",`, ``), same), nil, ErrMalformed},
		{"crit", resign(t, tok, s.key, replace(`{`, `{"crit":["x"],"x":1,`), same), nil, ErrMalformed},
		{"unknown header member ignored", resign(t, tok, s.key, replace(`{`, `{"x-note":{"a":[1]},`), same), nil, nil},
		{"duplicate header member", resign(t, tok, s.key, replace(`"kid":"k1"`, `"kid":"k1","kid":"k1"`), same), nil, ErrMalformed},
		{"header member names are exact", resign(t, tok, s.key, replace(`"alg"`, `"ALG"`), same), nil, ErrMalformed},
		{"padded header", signParts(t, s.key, padded(t, parts[0]), parts[1]), nil, ErrMalformed},
		{"padded payload", signParts(t, s.key, parts[0], padded(t, parts[1])), nil, ErrMalformed},
		{"padded signature", parts[0] + "." + parts[1] + "." + padded(t, parts[2]), nil, ErrMalformed},
		{"std base64 signature", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]), nil, ErrMalformed},
		{"unknown kid", tok, func(o *VerifyOptions) { o.Keys = newSigner(t, "k2").keys }, ErrUnknownKey},
		{"other key", tok, func(o *VerifyOptions) { o.Keys = other.keys }, ErrBadSignature},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`)) + "." + parts[2], nil, ErrBadSignature},
		{"short signature", parts[0] + "." + parts[1] + ".AAAA", nil, ErrBadSignature},
		{"other list", tok, func(o *VerifyOptions) { o.URI = testURI + "x" }, ErrWrongList},
		{"bits 1", bits1, nil, ErrMalformed},
		{"no exp", resign(t, tok, s.key, same, replace(`"exp":`, `"exq":`)), nil, ErrMalformed},
		{"no iat", resign(t, tok, s.key, same, replace(`"iat":`, `"iaq":`)), nil, ErrMalformed},
		{"iat before 1970", resign(t, tok, s.key, same, replace(`"iat":`, `"iat":-1,"iaq":`)), nil, ErrMalformed},
		{"no ver", resign(t, tok, s.key, same, replace(`"ver":5`, `"vex":5`)), nil, ErrMalformed},
		{"ttl 0", resign(t, tokNoTTL, s.key, same, replace(`"ver"`, `"ttl":0,"ver"`)), nil, ErrMalformed},
		{"lst not base64url", resign(t, tok, s.key, same, replace(lst, `"lst":"+`+lst[7:])), nil, ErrMalformed},
		{"lst not zlib", resign(t, tok, s.key, same, replace(lst, `"lst":"AAAA`)), nil, ErrMalformed},
		{"too large", big, func(o *VerifyOptions) { o.MaxEntries = 1 << 19 }, ErrTooLarge},
		{"rollback", tok, func(o *VerifyOptions) { o.MinVersion = 6 }, ErrRollback},
		{"expired", tok, func(o *VerifyOptions) { o.Now = t0.Add(25 * time.Hour) }, ErrExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := s.opts()
			if c.edit != nil {
				c.edit(&o)
			}
			got, err := Parse(c.token, o)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if (got != nil) != (c.want == nil || c.want == ErrExpired) {
				t.Fatalf("returned %v with %v", got, err)
			}
		})
	}
	// Equal version is no rollback; skew covers a just-expired list.
	o := s.opts()
	o.MinVersion, o.Now, o.ClockSkew = 5, t0.Add(24*time.Hour+time.Minute), 2*time.Minute
	if _, err := Parse(tok, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(tok, VerifyOptions{Keys: s.keys}); err == nil {
		t.Error("Parse without a URI succeeded")
	}
	if _, err := Parse(tok, VerifyOptions{URI: testURI}); err == nil {
		t.Error("Parse without keys succeeded")
	}
}

// TestParseRefusesCrit: a correctly signed token whose header has "crit",
// in any form, is refused as malformed (RFC 7515 §4.1.11), and the error
// says why.
func TestParseRefusesCrit(t *testing.T) {
	s := newSigner(t, "k1")
	tok, err := Sign(sampleList(), testMeta(5), s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	for _, crit := range []string{`"crit":["exp"],`, `"crit":["x"],"x":1,`, `"crit":[],`, `"crit":null,`, `"crit":"x",`} {
		_, err := Parse(resign(t, tok, s.key, replace(`{`, `{`+crit), same), s.opts())
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, jws.ErrCritical) {
			t.Errorf("header with %s: %v, want ErrMalformed for crit", crit, err)
		}
	}
}

func TestSignRejects(t *testing.T) {
	s := newSigner(t, "k1")
	l := New(8)
	bad := map[string]Meta{
		"no URI":       {Version: 1, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		"version 0":    {URI: testURI, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		"no exp":       {URI: testURI, Version: 1, IssuedAt: t0},
		"exp = iat":    {URI: testURI, Version: 1, IssuedAt: t0, ExpiresAt: t0},
		"ttl 1.5 s":    {URI: testURI, Version: 1, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), TTL: 1500 * time.Millisecond},
		"negative ttl": {URI: testURI, Version: 1, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), TTL: -time.Second},
	}
	for name, m := range bad {
		if _, err := Sign(l, m, s.key, s.kid); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if _, err := Sign(l, testMeta(1), s.key, ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty kid: %v", err)
	}
	if _, err := Sign(nil, testMeta(1), s.key, "k"); !errors.Is(err, ErrMalformed) {
		t.Errorf("nil list: %v", err)
	}
}

// TestExpiryInstant: exp is the first instant a list is expired (RFC 7519
// §4.1.4), for Expired, Parse and ParseDelta alike.
func TestExpiryInstant(t *testing.T) {
	s := newSigner(t, "k1")
	l := sampleList()
	meta := testMeta(5)
	tok, err := Sign(l, meta, s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	next := l.Clone()
	_ = next.Set(7, Revoked)
	dm := testMeta(6)
	d, err := NewDelta(l, 5, next, dm)
	if err != nil {
		t.Fatal(err)
	}
	delta, err := SignDelta(d, s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at      time.Time
		expired bool
	}{
		{meta.ExpiresAt.Add(-time.Second), false},
		{meta.ExpiresAt, true},
	} {
		o := s.opts()
		o.Now = tt.at
		got, err := Parse(tok, o)
		if got == nil || errors.Is(err, ErrExpired) != tt.expired || got.Expired(tt.at) != tt.expired {
			t.Errorf("token at %s: %v (expired %v)", tt.at, err, got != nil && got.Expired(tt.at))
		}
		if _, err := ParseDelta(delta, o); errors.Is(err, ErrExpired) != tt.expired {
			t.Errorf("delta at %s: %v", tt.at, err)
		}
	}
}

// TestStrictJSON: a repeated claim is refused; names are case-sensitive,
// so a claim differing only in case is an unknown claim (GM-08).
func TestStrictJSON(t *testing.T) {
	s := newSigner(t, "k1")
	tok, err := Sign(sampleList(), testMeta(5), s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		edit func(string) string
		want error
	}{
		{"ver twice", replace(`"ver":`, `"ver":9,"ver":`), ErrMalformed},
		{"Ver beside ver", replace(`{`, `{"Ver":9,`), nil},
		{"an unknown claim", replace(`{`, `{"x-note":"n",`), nil},
	} {
		got, err := Parse(resign(t, tok, s.key, same, tt.edit), s.opts())
		if tt.want == nil && (err != nil || got.Version != 5) || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
