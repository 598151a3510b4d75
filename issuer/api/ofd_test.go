package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"elicense/certs/consent"
	"elicense/certs/ofd"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/service"
)

// get sends a GET with the given Authorization header and returns the
// status, content type, disposition and body; an error answer must be
// {code, message}.
func (s *testServer) get(t *testing.T, path, authorization string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e errBody
		if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("GET %s: %d with a body that is not {code, message}: %.200s", path, resp.StatusCode, body)
		}
	}
	return resp.StatusCode, resp.Header, body
}

// checkOFD opens a served file and checks it names the licence and that
// its seal signs its Signature.xml.
func checkOFD(t *testing.T, h http.Header, data []byte, id string) {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/ofd" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := h.Get("Content-Disposition"); cd != `attachment; filename="`+id+`.ofd"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	p, err := ofd.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, cd := range p.Root.Bodies[0].CustomData {
		if cd.Name == "证照标识" {
			got = cd.Value
		}
	}
	if got != id {
		t.Errorf("证照标识 %q, want %q", got, id)
	}
	x, err := p.Signature("Doc_0/Signs/Sign_0/Signature.xml")
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.File(x.SignedValue)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ses.ParseSignature(v)
	if err != nil {
		t.Fatal(err)
	}
	if !sig.DigestMatches(x.Raw) {
		t.Error("the SES_Signature does not sign Signature.xml")
	}
}

func TestLicenceOFDOperators(t *testing.T) {
	s := newTestServer(t)
	own, _ := s.pki.AgencyForClass("business-license")
	other, _ := s.pki.AgencyForClass("drivers-license")
	op := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: own.Code})
	var v licenceView
	if st := s.do(t, "POST", "/v1/licences", op, ctJSON, issueJSON(t, "business-license"), &v); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	path := "/v1/licences/" + v.ID + "/ofd"
	for _, tc := range []struct {
		name string
		auth string
		want int
	}{
		{"operator", "Bearer " + op, 200},
		// An operator needs the rights of a change (the file carries the
		// agency's seal); the agency's auditor may have it (issue 18).
		{"auditor", "Bearer " + s.token(t, service.Operator{Subject: "au", Role: service.RoleAuditor, Agency: own.Code}), 200},
		{"auditor of another agency", "Bearer " + s.token(t, service.Operator{Subject: "ax", Role: service.RoleAuditor, Agency: other.Code}), 404},
		{"operator of other classes", "Bearer " + s.token(t, service.Operator{Subject: "c", Role: service.RoleOperator, Agency: own.Code, Classes: []string{"food-operation-permit"}}), 403},
		{"admin", "Bearer " + s.token(t, service.Operator{Subject: "ad", Role: service.RoleAdmin}), 200},
		{"other agency", "Bearer " + s.token(t, service.Operator{Subject: "x", Role: service.RoleOperator, Agency: other.Code}), 404},
		{"no authorization", "", 401},
		{"bad token", "Bearer abc", 401},
		{"bad proof", "ELProof abc", 401},
		{"other scheme", "Basic YTpi", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, body := s.get(t, path, tc.auth)
			if st != tc.want {
				t.Fatalf("status %d, want %d: %.300s", st, tc.want, body)
			}
			if st == 200 {
				checkOFD(t, h, body, v.ID)
			}
		})
	}
	if st, _, _ := s.get(t, "/v1/licences/1.2.3/ofd", "Bearer "+op); st != 404 {
		t.Fatalf("unknown licence: %d", st)
	}
	// No file is sealed of a licence that is no longer valid.
	admin := "Bearer " + s.token(t, service.Operator{Subject: "ad", Role: service.RoleAdmin})
	for _, change := range []struct{ action, body string }{{"suspend", `{"reason":"核查"}`}, {"revoke", `{"reason":"注销"}`}} {
		var w licenceView
		if st := s.do(t, "POST", "/v1/licences", op, ctJSON, issueJSON(t, "business-license"), &w); st != 201 {
			t.Fatalf("issue: %d", st)
		}
		if st := s.do(t, "POST", "/v1/licences/"+w.ID+"/"+change.action, op, ctJSON, change.body, nil); st != 200 {
			t.Fatalf("%s: %d", change.action, st)
		}
		for _, auth := range []string{"Bearer " + op, admin} {
			if st, _, body := s.get(t, "/v1/licences/"+w.ID+"/ofd", auth); st != 409 {
				t.Errorf("%s licence: status %d, want 409: %.200s", change.action, st, body)
			}
		}
	}
}

// TestLicenceOFDHolder fetches the file as the holder of a bound copy,
// with proofs signed by the device key, and checks what is refused.
func TestLicenceOFDHolder(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("drivers-license")
	op := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: ag.Code})
	issue := func() licenceView {
		var v licenceView
		if st := s.do(t, "POST", "/v1/licences", op, ctJSON, issueJSON(t, "drivers-license"), &v); st != 201 {
			t.Fatalf("issue: %d", st)
		}
		return v
	}
	lic, other := issue(), issue()
	dev, cp, st := claimAs(t, s, lic.ClaimCode)
	if st != 201 {
		t.Fatalf("claim: %d", st)
	}
	path := "/v1/licences/" + lic.ID + "/ofd"
	proof := func(key *gm.PrivateKey, sub, method, p string, at time.Time) string {
		tok, err := consent.SignProof(key, consent.ProofClaims{Subject: sub, Method: method, Path: p, IssuedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return consent.AuthScheme + " " + tok
	}
	good := proof(dev, cp.ID, "GET", path, time.Now())
	st, h, body := s.get(t, path, good)
	if st != 200 {
		t.Fatalf("holder: %d %.300s", st, body)
	}
	checkOFD(t, h, body, lic.ID)

	for _, tc := range []struct {
		name, path, auth string
		want             int
	}{
		{"replayed proof", path, good, 401},
		{"another device's key", path, proof(mustKey(t), cp.ID, "GET", path, time.Now()), 401},
		{"proof for another path", path, proof(dev, cp.ID, "GET", "/v1/licences/"+lic.ID+"/face", time.Now()), 401},
		{"proof for another method", path, proof(dev, cp.ID, "POST", path, time.Now()), 401},
		{"old proof", path, proof(dev, cp.ID, "GET", path, time.Now().Add(-2*consent.ProofSkew)), 401},
		{"sub not a copy", path, proof(dev, lic.ID, "GET", path, time.Now()), 401},
		{"unknown copy", path, proof(dev, lic.ID+"#nope", "GET", path, time.Now()), 401},
		{"another licence", "/v1/licences/" + other.ID + "/ofd", proof(dev, cp.ID, "GET", "/v1/licences/"+other.ID+"/ofd", time.Now()), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _, body := s.get(t, tc.path, tc.auth); st != tc.want {
				t.Fatalf("status %d, want %d: %.300s", st, tc.want, body)
			}
		})
	}

	// A copy's id names no file of its own: the answer says to ask for the
	// licence's, to an operator as to an admin.
	copyPath := "/v1/licences/" + url.PathEscape(cp.ID) + "/ofd"
	for _, auth := range []string{"Bearer " + op, "Bearer " + s.token(t, service.Operator{Subject: "ad", Role: service.RoleAdmin})} {
		st, _, body := s.get(t, copyPath, auth)
		var e errBody
		_ = json.Unmarshal(body, &e)
		if st != 404 || e.Field != "id" || !strings.Contains(e.Message, "device copy") || !strings.Contains(e.Message, "/v1/licences/"+lic.ID+"/ofd") {
			t.Errorf("a copy's id: %d %s", st, body)
		}
	}
	if st, _, _ := s.get(t, copyPath, ""); st != 401 {
		t.Errorf("a copy's id without a token: %d", st)
	}

	// Suspended: neither the holder nor the operator gets a file sealed now.
	if st := s.do(t, "POST", "/v1/licences/"+lic.ID+"/suspend", op, ctJSON, `{"reason":"核查"}`, nil); st != 200 {
		t.Fatalf("suspend: %d", st)
	}
	if st, _, body := s.get(t, path, proof(dev, cp.ID, "GET", path, time.Now())); st != 409 {
		t.Fatalf("suspended licence to its holder: %d %.300s", st, body)
	}
	if st, _, _ := s.get(t, path, "Bearer "+op); st != 409 {
		t.Fatalf("suspended licence to the operator: %d", st)
	}
	// Unbound (device lost): the copy's key signs nothing any more.
	s.do(t, "POST", "/v1/licences/"+lic.ID+"/reinstate", op, ctJSON, `{}`, nil)
	if st := s.do(t, "POST", "/v1/licences/"+url.PathEscape(cp.ID)+"/unbind", op, "", "", nil); st != 200 {
		t.Fatalf("unbind: %d", st)
	}
	if st, _, _ := s.get(t, path, proof(dev, cp.ID, "GET", path, time.Now())); st != 401 {
		t.Fatalf("unbound copy: %d", st)
	}
}
