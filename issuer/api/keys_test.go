package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/issuer/pki"
	"elicense/issuer/service"
)

// TestKeyRotationOverHTTP: a rotation and a compromise through the admin
// API change what the server signs with and what the next trust bundle
// says at once, and the compromised key's genuine set is served.
func TestKeyRotationOverHTTP(t *testing.T) {
	s := newTestServerWith(t, true)
	ag, _ := s.pki.AgencyForClass("business-license")
	k := &keyHTTPRun{s: s, ag: ag}
	k.admin = s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin})
	k.body = strings.Replace(issueJSON(t, "business-license"), `"class"`, `"agency":"`+ag.Code+`","class"`, 1)
	before := k.issue(t)
	if ks := k.keys(k.bundle(t)); len(ks) != 1 || ks[ag.KeyID].State != trust.KeyActive {
		t.Fatalf("keys before: %+v", ks)
	}
	rot := k.rotate(t, before)
	k.compromise(t, rot, before)
}

// keyHTTPRun is the state TestKeyRotationOverHTTP carries from step to
// step.
type keyHTTPRun struct {
	s     *testServer
	ag    *pki.Agency
	admin string
	body  string // a licence to issue
}

func (k *keyHTTPRun) issue(t *testing.T) string {
	var v licenceView
	if st := k.s.do(t, "POST", "/v1/licences", k.admin, ctJSON, k.body, &v); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	return v.Credential
}

func (k *keyHTTPRun) bundle(t *testing.T) *trust.Bundle {
	t.Helper()
	resp, err := http.Get(k.s.URL + "/v1/trust")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := io.ReadAll(resp.Body)
	b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: []*gm.Certificate{k.s.pki.Root}})
	if err != nil {
		t.Fatalf("trust bundle: %v", err)
	}
	return b
}

// keys is what b says of the agency's keys, by key ID.
func (k *keyHTTPRun) keys(b *trust.Bundle) map[string]trust.AgencyKey {
	out := map[string]trust.AgencyKey{}
	for _, a := range b.Agencies {
		if a.Code == k.ag.Code {
			for _, ak := range a.Keys {
				out[ak.KID] = ak
			}
		}
	}
	return out
}

// rotate rotates the agency's key: the next licence is signed with the
// new key, the next bundle says so, and the licence issued before still
// verifies.
func (k *keyHTTPRun) rotate(t *testing.T, before string) service.KeyChange {
	ag := k.ag
	var rot service.KeyChange
	if st := k.s.do(t, "POST", "/v1/agencies/"+ag.Code+"/keys/rotate", k.admin, "", "", &rot); st != 200 {
		t.Fatalf("rotate: %d", st)
	}
	if rot.Agency != ag.Code || rot.Old.KID != ag.KeyID || rot.Old.State != "retired" || rot.New == nil || rot.New.State != "active" || rot.LedgerIndex != 1 {
		t.Fatalf("rotate: %+v", rot)
	}
	after := k.issue(t)
	b := k.bundle(t)
	ks := k.keys(b)
	if ks[rot.New.KID].State != trust.KeyActive || ks[rot.Old.KID].State != trust.KeyRetired || !ks[rot.Old.KID].Since.Equal(rot.Old.Since) {
		t.Fatalf("keys after the rotation: %+v", ks)
	}
	for name, cred := range map[string]string{"before": before, "after": after} {
		if _, err := credential.Verify(cred, credential.VerifyOptions{Keys: b.Resolver()}); err != nil {
			t.Fatalf("licence issued %s the rotation: %v", name, err)
		}
	}
	return rot
}

// compromise declares the old key compromised before the first licence:
// the bundle says so, its genuine set is served and empty, and the
// licence it signed no longer verifies.
func (k *keyHTTPRun) compromise(t *testing.T, rot service.KeyChange, before string) {
	since := k.ag.Cert.NotBefore.UTC() // before the first licence: none is genuine
	var cmp service.KeyChange
	if st := k.s.do(t, "POST", "/v1/agencies/"+k.ag.Code+"/keys/"+rot.Old.KID+"/compromise", k.admin, ctJSON, `{"since":"`+since.Format(time.RFC3339)+`"}`, &cmp); st != 200 {
		t.Fatalf("compromise: %d", st)
	}
	if cmp.New != nil || cmp.Old.KID != rot.Old.KID || cmp.Old.State != "compromised" || !cmp.Old.Since.Equal(since) || cmp.Old.Genuine == nil || cmp.LedgerIndex != 3 {
		t.Fatalf("compromise: %+v", cmp)
	}
	b := k.bundle(t)
	ak := k.keys(b)[rot.Old.KID]
	if ak.State != trust.KeyCompromised || !ak.Since.Equal(since) || ak.Genuine == nil || ak.Genuine.SM3 != cmp.Old.Genuine.SM3 || ak.Genuine.Count != 0 {
		t.Fatalf("compromised key in the bundle: %+v", ak)
	}
	resp, err := http.Get(k.s.URL + "/v1/trust/genuine/" + rot.Old.KID)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := b.VerifyGenuineSet(rot.Old.KID, doc); resp.StatusCode != 200 || err != nil {
		t.Fatalf("genuine set: %d %v", resp.StatusCode, err)
	}
	if _, err := credential.Verify(before, credential.VerifyOptions{Keys: b.Resolver()}); err == nil {
		t.Fatal("a licence of the compromised key still verifies")
	}
}

// TestKeyAndTokenBadInput: every bad key or token request gets its 4xx
// and JSON reason, and changes nothing.
func TestKeyAndTokenBadInput(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("business-license")
	admin := s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin})
	op := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: ag.Code})
	rot, err := s.svc.RotateKey(t.Context(), service.Operator{Subject: "admin", Role: service.RoleAdmin}, ag.Code, service.RotateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := s.svc.CompromiseKey(t.Context(), service.Operator{Subject: "admin", Role: service.RoleAdmin}, ag.Code, rot.Old.KID, now); err != nil {
		t.Fatal(err)
	}
	rotate := "/v1/agencies/" + ag.Code + "/keys/rotate"
	compromise := "/v1/agencies/" + ag.Code + "/keys/" + rot.Old.KID + "/compromise"
	at := func(t time.Time) string { return `{"since":"` + t.Format(time.RFC3339) + `"}` }
	tests := []struct {
		name, path, token, ctype, body string
		status                         int
		code, field                    string
	}{
		{"no token", rotate, "", "", "", 401, "unauthorized", ""},
		{"operator rotates", rotate, op, "", "", 403, "forbidden", ""},
		{"operator compromises", compromise, op, ctJSON, at(now), 403, "forbidden", ""},
		{"unknown agency", "/v1/agencies/91310000MA1FL0000X/keys/rotate", admin, "", "", 404, "not_found", "agency"},
		{"unknown key", "/v1/agencies/" + ag.Code + "/keys/0011223344556677/compromise", admin, ctJSON, at(now), 404, "not_found", "kid"},
		{"bad time", compromise, admin, ctJSON, `{"since":"yesterday"}`, 400, "bad_request", "since"},
		{"time without zone", compromise, admin, ctJSON, `{"since":"2026-01-02T03:04:05"}`, 400, "bad_request", "since"},
		{"bad compromised_since", rotate, admin, ctJSON, `{"compromised_since":"soon"}`, 400, "bad_request", "compromised_since"},
		{"no since", compromise, admin, ctJSON, `{}`, 422, "invalid", "since"},
		{"future", compromise, admin, ctJSON, at(now.Add(time.Hour)), 422, "invalid", "since"},
		{"rotate compromised in the future", rotate, admin, ctJSON, `{"compromised_since":"` + now.Add(time.Hour).Format(time.RFC3339) + `"}`, 422, "invalid", "compromised_since"},
		{"before the key", compromise, admin, ctJSON, at(ag.Cert.NotBefore.Add(-time.Hour)), 422, "invalid", "since"},
		{"compromised again at the same time", compromise, admin, ctJSON, at(now), 409, "conflict", "since"},
		{"unknown member", compromise, admin, ctJSON, `{"when":"x"}`, 400, "bad_json", ""},
		{"malformed", rotate, admin, ctJSON, `{`, 400, "bad_json", ""},
		{"wrong content type", compromise, admin, "text/plain", at(now), 415, "unsupported_media_type", ""},
		{"token: bad ttl", "/v1/tokens", admin, ctJSON, `{"subject":"x","role":"admin","ttl":"forever"}`, 400, "bad_request", "ttl"},
		{"token: ttl too long", "/v1/tokens", admin, ctJSON, `{"subject":"x","role":"admin","ttl":"9000h"}`, 422, "invalid", "ttl"},
		{"token: unknown role", "/v1/tokens", admin, ctJSON, `{"subject":"x","role":"root","ttl":"1h"}`, 422, "invalid", "role"},
		{"token: unknown agency", "/v1/tokens", admin, ctJSON, `{"subject":"x","role":"operator","agency":"91310000MA1FL0000X","ttl":"1h"}`, 422, "invalid", "agency"},
		{"token: class of another agency", "/v1/tokens", admin, ctJSON, `{"subject":"x","role":"operator","agency":"` + ag.Code + `","classes":["drivers-license"],"ttl":"1h"}`, 422, "invalid", "classes"},
		{"token: by an operator", "/v1/tokens", op, ctJSON, `{"subject":"x","role":"admin","ttl":"1h"}`, 403, "forbidden", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e errBody
			if got := s.do(t, "POST", tc.path, tc.token, tc.ctype, tc.body, &e); got != tc.status || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("got %d %+v, want %d %s field %q", got, e, tc.status, tc.code, tc.field)
			}
		})
	}
	a, _ := s.svc.PKI().Agency(ag.Code)
	if a.KeyID != rot.New.KID || len(a.Previous) != 1 || !a.Previous[0].Since.Equal(now) {
		t.Fatalf("a refused request changed the keys: %s %+v", a.KeyID, a.Previous)
	}
	// The token minted passes what the minter checked.
	var tok service.MintedToken
	if st := s.do(t, "POST", "/v1/tokens", admin, ctJSON, `{"subject":"clerk","role":"operator","agency":"`+ag.Code+`","classes":["营业执照"],"ttl":"8h"}`, &tok); st != 201 {
		t.Fatalf("mint: %d", st)
	}
	got, _, err := s.tokens.Verify(tok.Token)
	if err != nil || got.Agency != ag.Code || len(got.Classes) != 1 || got.Classes[0] != "business-license" || tok.ID == "" {
		raw, _ := json.Marshal(tok)
		t.Fatalf("minted %s: %+v %v", raw, got, err)
	}
}
