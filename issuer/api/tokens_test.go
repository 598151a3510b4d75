package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/issuer/service"
)

// signToken signs any header and claims with s's token key, as a holder
// of the key (or a bug in minting) could.
func signToken(t *testing.T, s *testServer, header, claims string) string {
	t.Helper()
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	sig, err := gm.SignRS(s.tokens.signer, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestTokenValidation(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("drivers-license")
	other, _ := s.pki.AgencyForClass("business-license")
	now := time.Now().Unix()
	const hdr = `{"alg":"SM2SM3","typ":"elicense-op+jwt"}`
	claims := func(extra string) string {
		return fmt.Sprintf(`{"sub":"op","jti":"j1","iat":%d,"exp":%d,"role":"admin"%s}`, now, now+3600, extra)
	}
	admin := func(aud string) string { return claims(`,"aud":` + aud) }
	op := func(agency, classes string) string {
		return fmt.Sprintf(`{"sub":"op","jti":"j2","aud":"test","iat":%d,"exp":%d,"role":"operator","agency":%q%s}`, now, now+3600, agency, classes)
	}
	at := func(iat, exp int64, extra string) string {
		return fmt.Sprintf(`{"sub":"op","jti":"j3","aud":"test","iat":%d,"exp":%d,"role":"admin"%s}`, iat, exp, extra)
	}
	tests := []struct {
		name, header, claims string
		ok                   bool
	}{
		{"aud as an array", hdr, admin(`["test"]`), true},
		{"aud as a string (RFC 7519 §4.1.3)", hdr, admin(`"test"`), true},
		{"aud naming this deployment twice", hdr, admin(`["test","test"]`), true},
		{"aud of another deployment", hdr, admin(`"other"`), false},
		{"aud naming another deployment too", hdr, admin(`["test","other"]`), false},
		{"aud an empty array", hdr, admin(`[]`), false},
		{"aud a number", hdr, admin(`7`), false},
		{"aud null", hdr, admin(`null`), false},
		{"aud an array of numbers", hdr, admin(`[7]`), false},
		{"no aud", hdr, claims(""), false},
		{"duplicate aud", hdr, claims(`,"aud":"other","aud":"test"`), false},
		{"unknown claims are ignored", hdr, admin(`"test","x-note":{"a":[1]}`), true},
		{"crit header", `{"alg":"SM2SM3","typ":"elicense-op+jwt","crit":["exp"]}`, admin(`"test"`), false},
		{"empty crit header", `{"alg":"SM2SM3","typ":"elicense-op+jwt","crit":[]}`, admin(`"test"`), false},
		{"other typ", `{"alg":"SM2SM3","typ":"JWT"}`, admin(`"test"`), false},
		{"alg none", `{"alg":"none","typ":"elicense-op+jwt"}`, admin(`"test"`), false},
		{"x5c header", `{"alg":"SM2SM3","typ":"elicense-op+jwt","x5c":["AAAA"]}`, admin(`"test"`), false},
		{"expired within the leeway", hdr, at(now-7200, now-20, ""), true},
		{"expired past the leeway", hdr, at(now-7200, now-40, ""), false},
		{"no exp", hdr, `{"sub":"op","jti":"j","aud":"test","iat":1,"role":"admin"}`, false},
		{"exp a string", hdr, `{"sub":"op","jti":"j","aud":"test","iat":1,"exp":"9999999999","role":"admin"}`, false},
		{"exp fractional (a NumericDate may be)", hdr, fmt.Sprintf(`{"sub":"op","jti":"j","aud":"test","iat":1,"exp":%d.5,"role":"admin"}`, now+60), true},
		{"exp absurd", hdr, `{"sub":"op","jti":"j","aud":"test","iat":1,"exp":1e300,"role":"admin"}`, false},
		{"iat in the future", hdr, at(now+600, now+3600, ""), false},
		{"iat within the leeway", hdr, at(now+20, now+3600, ""), true},
		{"no iat", hdr, fmt.Sprintf(`{"sub":"op","jti":"j","aud":"test","exp":%d,"role":"admin"}`, now+60), false},
		{"nbf in the future", hdr, at(now, now+3600, fmt.Sprintf(`,"nbf":%d`, now+600)), false},
		{"nbf past", hdr, at(now, now+3600, fmt.Sprintf(`,"nbf":%d`, now-600)), true},
		{"no subject", hdr, fmt.Sprintf(`{"jti":"j","aud":"test","iat":1,"exp":%d,"role":"admin"}`, now+60), false},
		{"unknown role", hdr, fmt.Sprintf(`{"sub":"op","jti":"j","aud":"test","iat":1,"exp":%d,"role":"root"}`, now+60), false},
		{"invalid UTF-8 in a claim", hdr, admin("\"test\",\"note\":\"\xff\""), false},
		{"operator of a configured agency", hdr, op(ag.Code, ""), true},
		{"operator of a class its agency issues", hdr, op(ag.Code, `,"classes":["drivers-license"]`), true},
		{"operator of an unknown agency", hdr, op("000000000000000000", ""), false},
		{"operator of an unknown class", hdr, op(ag.Code, `,"classes":["fishing-permit"]`), false},
		{"operator of a class its agency does not issue", hdr, op(other.Code, `,"classes":["drivers-license"]`), other.Code == ag.Code},
		{"operator without an agency", hdr, op("", ""), false},
		{"admin naming an agency", hdr, claims(`,"aud":"test","agency":"` + ag.Code + `"`), false},
		{"auditor naming classes", hdr, strings.Replace(op(ag.Code, `,"classes":["drivers-license"]`), `"operator"`, `"auditor"`, 1), false},
	}
	for _, tc := range tests {
		tok := signToken(t, s, tc.header, tc.claims)
		var e errBody
		st := s.do(t, "GET", "/v1/licences?limit=1", tok, "", "", &e)
		if (st == 200) != tc.ok {
			t.Errorf("%s: %d %s", tc.name, st, e.Message)
		}
		if !tc.ok && st != 401 {
			t.Errorf("%s: %d, want 401", tc.name, st)
		}
	}
}

func TestTokenLeeway(t *testing.T) {
	key := mustKey(t)
	now := time.Now()
	mint, _ := NewTokensWith(TokenOptions{Signer: key, Audience: "a", Now: func() time.Time { return now.Add(-time.Hour - 45*time.Second) }})
	tok, _, err := mint.Mint(service.Operator{Subject: "x", Role: service.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// 45 s past exp: refused at the default 30 s, taken at 60 s, refused
	// with no leeway.
	for leeway, ok := range map[time.Duration]bool{0: false, time.Minute: true, -1: false, 44 * time.Second: false, 46 * time.Second: true} {
		v, err := NewTokensWith(TokenOptions{Signer: key, Audience: "a", Leeway: leeway, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.Verify(tok); (err == nil) != ok {
			t.Errorf("leeway %v: %v", leeway, err)
		} else if err != nil && !errors.Is(err, ErrBadToken) {
			t.Errorf("leeway %v: %v does not wrap ErrBadToken", leeway, err)
		}
	}
	if d := NewTokens(key, "a", nil, nil).Leeway(); d != DefaultTokenLeeway {
		t.Fatalf("default leeway %v", d)
	}
	if _, err := NewTokensWith(TokenOptions{Signer: key, Audience: "a", Leeway: MaxTokenLeeway + time.Second}); err == nil {
		t.Fatal("leeway over the maximum accepted")
	}
	// A cached token expires with its leeway too.
	clock := now.Add(-time.Hour)
	v, _ := NewTokensWith(TokenOptions{Signer: key, Audience: "a", Now: func() time.Time { return clock }})
	if _, _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(-20 * time.Second)
	if _, _, err := v.Verify(tok); err != nil {
		t.Fatalf("cached token 25 s past exp, within the leeway: %v", err)
	}
	clock = now
	if _, _, err := v.Verify(tok); err == nil {
		t.Fatal("cached token past exp and the leeway accepted")
	}
}
