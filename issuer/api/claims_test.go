package api

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/issuer/service"
	"elicense/issuer/state"
)

// claimAs runs the holder side of a claim with a fresh device key.
func claimAs(t testing.TB, s *testServer, code string) (*gm.PrivateKey, claimResponse, int) {
	t.Helper()
	dev := mustKey(t)
	raw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	var ch struct{ Challenge string }
	if st := s.do(t, "POST", "/v1/claims/challenge", "", "", "", &ch); st != 201 {
		t.Fatalf("challenge: %d", st)
	}
	norm := code
	sig, err := gm.SignRS(dev, service.ClaimSigningInput(ch.Challenge, norm, raw))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(service.ClaimRequest{Code: code, DeviceKey: base64.RawURLEncoding.EncodeToString(raw),
		Challenge: ch.Challenge, Signature: base64.RawURLEncoding.EncodeToString(sig)})
	var resp claimResponse
	st := s.do(t, "POST", "/v1/claims", "", ctJSON, string(body), &resp)
	return dev, resp, st
}

func TestClaimAndUnbind(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("drivers-license")
	tok := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: ag.Code})
	var lic licenceView
	if st := s.do(t, "POST", "/v1/licences", tok, ctJSON, issueJSON(t, "drivers-license"), &lic); st != 201 || lic.ClaimCode == "" {
		t.Fatalf("issue: %d, claim code %q", st, lic.ClaimCode)
	}
	// The code's ticket number with a wrong secret is refused and spends
	// nothing.
	wrong := []byte(lic.ClaimCode)
	if wrong[len(wrong)-1] == '0' {
		wrong[len(wrong)-1] = '1'
	} else {
		wrong[len(wrong)-1] = '0'
	}
	if _, _, st := claimAs(t, s, string(wrong)); st != 403 {
		t.Fatalf("claim with a wrong secret: %d", st)
	}
	dev, copy1, st := claimAs(t, s, lic.ClaimCode)
	if st != 201 || copy1.CopyOf != lic.ID || len(copy1.Holding) == 0 {
		t.Fatalf("claim: %d %+v", st, copy1.licenceView)
	}
	// The copy's credential is bound to the device; its QR presents.
	keys := credential.KeySet{ag.KeyID: {{Public: ag.Cert.PublicKey.(*ecdsa.PublicKey), AgencyCode: ag.Code, Classes: ag.Classes}}}
	l, err := credential.Verify(copy1.Credential, credential.VerifyOptions{Keys: keys})
	if err != nil || l.Device == nil || !l.Device.Equal(dev.PublicKey()) || l.ID != lic.ID {
		t.Fatalf("bound credential: %v", err)
	}
	var h qr.Holding
	if err := json.Unmarshal(copy1.Holding, &h); err != nil {
		t.Fatal(err)
	}
	text, err := h.Present(dev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tk, err := qr.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := tk.Verify(qr.VerifyOptions{Keys: keys}); err != nil || !res.Bound {
		t.Fatalf("presentation: %v", err)
	}
	// The code is single-use.
	if _, _, st := claimAs(t, s, lic.ClaimCode); st != 403 {
		t.Fatalf("second use of a claim code: %d", st)
	}
	// A second device with a second code.
	var cc struct{ Code string }
	if st := s.do(t, "POST", "/v1/licences/"+lic.ID+"/claim-codes", tok, "", "", &cc); st != 201 {
		t.Fatalf("new claim code: %d", st)
	}
	_, copy2, st := claimAs(t, s, strings.ToLower(strings.ReplaceAll(cc.Code, "-", " ")))
	if st != 201 {
		t.Fatalf("claim with a typed-in code: %d", st)
	}
	// Losing device 1 revokes its copy only.
	var v licenceView
	if st := s.do(t, "POST", "/v1/licences/"+url.PathEscape(copy1.ID)+"/unbind", tok, "", "", &v); st != 200 || v.Status != state.StatusRevoked {
		t.Fatalf("unbind: %d %v", st, v.Status)
	}
	for id, want := range map[string]state.Status{lic.ID: state.StatusValid, copy2.ID: state.StatusValid, copy1.ID: state.StatusRevoked} {
		s.do(t, "GET", "/v1/licences/"+url.PathEscape(id), tok, "", "", &v)
		if v.Status != want {
			t.Fatalf("%s: %v, want %v", id, v.Status, want)
		}
	}
	// Revoking the licence revokes the remaining copy.
	s.do(t, "POST", "/v1/licences/"+lic.ID+"/revoke", tok, ctJSON, `{"reason":"吊销"}`, nil)
	s.do(t, "GET", "/v1/licences/"+url.PathEscape(copy2.ID), tok, "", "", &v)
	if v.Status != state.StatusRevoked {
		t.Fatalf("copy after licence revocation: %v", v.Status)
	}
}

func TestClaimBadInput(t *testing.T) {
	s := newTestServer(t)
	tests := []struct{ body, field string }{
		{`{"code":"short","device_key":"","challenge":"","signature":""}`, "code"},
		{`{"code":"0000-1A7K-3QM9-PX2R-TB8W","device_key":"!!","challenge":"","signature":""}`, "device_key"},
		{`{"code":"0000-1A7K-3QM9-PX2R-TB8W","device_key":"AAAA","challenge":"","signature":""}`, "device_key"},
	}
	for _, tc := range tests {
		var e errBody
		if st := s.do(t, "POST", "/v1/claims", "", ctJSON, tc.body, &e); st != 422 || e.Field != tc.field {
			t.Errorf("%s: %d %+v", tc.body, st, e)
		}
	}
	// Guessing is rate limited.
	limited := false
	for range 30 {
		if st := s.do(t, "POST", "/v1/claims/challenge", "", "", "", nil); st == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("30 rapid claim requests were not rate limited")
	}
}
