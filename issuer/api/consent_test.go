package api

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"elicense/certs/consent"
	"elicense/certs/credential"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/issuer/service"
)

// consentWorld is a test server with a registered relying party and a
// licence claimed into a wallet.
type consentWorld struct {
	s      *testServer
	admin  string
	rp     string
	rpKey  *gm.PrivateKey
	dev    *gm.PrivateKey
	copyID string
}

const testRP = "sh-scjg-food-permit"

func rpRegistration(t testing.TB, key *gm.PrivateKey) string {
	der, err := gm.MarshalPKIXPublicKey(key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": testRP, "name": "上海市食品经营许可审批系统", "org_code": "11310000PDY100010H",
		"org_name": "上海市市场监督管理局", "key": base64.StdEncoding.EncodeToString(der),
		"matters": []any{map[string]any{"code": "310100001000", "name": "食品经营许可证核发", "classes": []any{map[string]any{
			"class": "business-license", "fields": []any{map[string]string{"key": "name", "purpose": "核对经营者名称"},
				map[string]string{"key": "domicile", "purpose": "核对住所"}}}}}}})
	return string(b)
}

func newConsentWorld(t testing.TB, tweak func(*Options)) *consentWorld {
	t.Helper()
	return newConsentWorldWith(t, false, tweak)
}

// newConsentWorldWith is newConsentWorld publishing status lists and the
// trust bundle when publishing is set.
func newConsentWorldWith(t testing.TB, publishing bool, tweak func(*Options)) *consentWorld {
	t.Helper()
	s := newTestServerOpts(t, publishing, tweak)
	w := &consentWorld{s: s, admin: s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin}), rp: testRP, rpKey: mustKey(t)}
	var v service.RPView
	if st := s.do(t, "POST", "/v1/relying-parties", w.admin, ctJSON, rpRegistration(t, w.rpKey), &v); st != 201 || v.ID != testRP {
		t.Fatalf("registering: %d %+v", st, v)
	}
	ag, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: ag.Code})
	var lic licenceView
	if st := s.do(t, "POST", "/v1/licences", tok, ctJSON, issueJSON(t, "business-license"), &lic); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	dev, cp, st := claimAs(t, s, lic.ClaimCode)
	if st != 201 {
		t.Fatalf("claim: %d", st)
	}
	w.dev, w.copyID = dev, cp.ID
	return w
}

// call sends a request with a proof by key for sub (no proof when key is
// nil) and returns the status, the body and the Retry-After header.
func (w *consentWorld) call(t testing.TB, key *gm.PrivateKey, sub, method, target, body string, out any) (int, []byte, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, w.s.URL+target, rd)
	if body != "" {
		req.Header.Set("Content-Type", ctJSON)
	}
	if key != nil {
		u, _ := url.Parse(target)
		p, err := consent.SignProof(key, consent.ProofClaims{Subject: sub, Method: method, Path: u.Path, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", consent.AuthScheme+" "+p)
	}
	return w.send(t, req, out)
}

func (w *consentWorld) send(t testing.TB, req *http.Request, out any) (int, []byte, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e errBody
		if json.Unmarshal(data, &e) != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("%s %s: %d without {code, message}: %s", req.Method, req.URL.Path, resp.StatusCode, data)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, data)
		}
	}
	if out != nil {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode, data, resp.Header.Get("Retry-After")
}

func errCode(b []byte) string {
	var e errBody
	json.Unmarshal(b, &e)
	return e.Code
}

// request makes a request and answers it with an approval of name.
func (w *consentWorld) grant(t testing.TB, use string) (grant, request string) {
	t.Helper()
	var m service.RequestMade
	body := `{"matter":"310100001000","class":"business-license","fields":["name","domicile"],"duration":3600,"use":"` + use + `"}`
	if st, b, _ := w.call(t, w.rpKey, w.rp, "POST", "/v1/requests", body, &m); st != 201 {
		t.Fatalf("request: %d %s", st, b)
	}
	var rs service.RequestState
	if st, _, _ := w.call(t, nil, "", "GET", "/v1/requests/"+m.ID, "", &rs); st != 200 || rs.State != "pending" || rs.Request != m.Request {
		t.Fatalf("reading the request: %d %+v", st, rs)
	}
	c, err := consent.SignConsent(w.dev, consent.ConsentClaims{Request: m.ID, RequestSM3: consent.RequestSM3(m.Request), Licence: w.copyID, Decision: consent.Approve, Fields: []string{"name"}})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := json.Marshal(map[string]string{"consent": c})
	var a service.Answered
	if st, b, _ := w.call(t, nil, "", "POST", "/v1/grants", string(cb), &a); st != 201 || a.Grant == nil {
		t.Fatalf("consent: %d %s", st, b)
	}
	if st, b, _ := w.call(t, nil, "", "POST", "/v1/grants", string(cb), nil); st != 409 || errCode(b) != service.CodeRequestAnswered {
		t.Fatalf("consent again: %d %s", st, b)
	}
	return a.Grant.ID, m.ID
}

func TestConsentFlowHTTP(t *testing.T) {
	w := newConsentWorldWith(t, true, nil)
	g, _ := w.grant(t, "once")
	path := "/v1/grants/" + g + "/credential"
	var f service.Fetched
	st, b, _ := w.call(t, w.rpKey, w.rp, "GET", path, "", &f)
	if st != 200 || f.Grant.ID != g || f.Consent == "" || f.Request == "" {
		t.Fatalf("fetch: %d %s", st, b)
	}
	// The relying party checks it alone: the trust bundle under the
	// pinned root, and the copy's status list.
	req, _ := http.NewRequest("GET", w.s.URL+"/v1/trust", nil)
	st, doc, _ := w.send(t, req, nil)
	if st != 200 {
		t.Fatalf("trust bundle: %d", st)
	}
	bundle, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: []*gm.Certificate{w.s.pki.Root}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := consent.VerifyGrantCredential(f.Credential, f.Consent, f.Request, consent.VerifyOptions{Bundle: bundle, RP: w.rp, Grant: g,
		Status: func(credential.StatusRef) (statuslist.Status, error) { return statuslist.Valid, nil }})
	if err != nil || len(v.Fields) != 1 || v.Fields["name"] == "" {
		t.Fatalf("the fetched credential does not verify: %v %+v", err, v)
	}
	if _, err := consent.VerifyGrantCredential(f.Credential, f.Consent, f.Request, consent.VerifyOptions{Bundle: bundle, RP: "other-party", Grant: g,
		Status: func(credential.StatusRef) (statuslist.Status, error) { return statuslist.Valid, nil }}); err == nil {
		t.Error("the credential verifies for another party")
	}
	if st, b, _ := w.call(t, w.rpKey, w.rp, "GET", path, "", nil); st != 410 || errCode(b) != service.CodeGrantUsed {
		t.Errorf("second fetch of a once grant: %d %s", st, b)
	}
	// The holder sees the claim, the grant and the fetch, and revokes.
	var uses struct{ Uses []service.Use }
	q := "?licence=" + url.QueryEscape(w.copyID)
	if st, b, _ := w.call(t, w.dev, w.copyID, "GET", "/v1/holder/uses"+q, "", &uses); st != 200 || len(uses.Uses) != 3 {
		t.Fatalf("uses: %d %s", st, b)
	}
	if o := uses.Uses[1].Opening; o == nil || o.Value != w.copyID {
		t.Errorf("the grant's opening: %+v", o)
	}
	var grants struct{ Grants []service.GrantView }
	if st, b, _ := w.call(t, w.dev, w.copyID, "GET", "/v1/holder/grants"+q, "", &grants); st != 200 || len(grants.Grants) != 1 || grants.Grants[0].State != "used" {
		t.Fatalf("holder grants: %d %s", st, b)
	}
	if st, b, _ := w.call(t, w.dev, w.copyID, "DELETE", "/v1/grants/"+g, "", nil); st != 200 {
		t.Fatalf("holder revokes: %d %s", st, b)
	}
	if st, b, _ := w.call(t, w.rpKey, w.rp, "GET", "/v1/grants?state=all", "", &grants); st != 200 || len(grants.Grants) != 1 || grants.Grants[0].State != "revoked" {
		t.Fatalf("party's grants: %d %s", st, b)
	}
}

func TestProofRefusals(t *testing.T) {
	w := newConsentWorld(t, nil)
	g, _ := w.grant(t, "repeat")
	path := "/v1/grants/" + g + "/credential"
	sign := func(key *gm.PrivateKey, p consent.ProofClaims) string {
		tok, err := consent.SignProof(key, p)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := consent.ProofClaims{Subject: w.rp, Method: "GET", Path: path}
	replayed := sign(w.rpKey, good)
	cases := []struct {
		name, auth string
		status     int
		code       string
	}{
		{"no proof", "", 401, "PROOF_INVALID"},
		{"bearer", "Bearer " + w.admin, 401, "PROOF_INVALID"},
		{"garbage", "ELProof a.b.c", 401, "PROOF_INVALID"},
		{"first use", "ELProof " + replayed, 200, ""},
		{"replayed", "ELProof " + replayed, 401, "PROOF_INVALID"},
		{"another key", "ELProof " + sign(mustKey(t), good), 401, "PROOF_INVALID"},
		{"another path", "ELProof " + sign(w.rpKey, consent.ProofClaims{Subject: w.rp, Method: "GET", Path: "/v1/grants"}), 401, "PROOF_INVALID"},
		{"another method", "ELProof " + sign(w.rpKey, consent.ProofClaims{Subject: w.rp, Method: "DELETE", Path: path}), 401, "PROOF_INVALID"},
		{"old", "ELProof " + sign(w.rpKey, consent.ProofClaims{Subject: w.rp, Method: "GET", Path: path, IssuedAt: time.Now().Add(-2 * time.Minute)}), 401, "PROOF_INVALID"},
		{"unknown party", "ELProof " + sign(w.rpKey, consent.ProofClaims{Subject: "nobody", Method: "GET", Path: path}), 401, "PROOF_INVALID"},
		{"holder on a party's route", "ELProof " + sign(w.dev, consent.ProofClaims{Subject: w.copyID, Method: "GET", Path: path}), 401, "PROOF_INVALID"},
		{"a body the proof does not cover", "ELProof " + sign(w.rpKey, good), 401, "PROOF_INVALID"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", w.s.URL+path, nil)
		if c.name == "a body the proof does not cover" {
			req, _ = http.NewRequest("GET", w.s.URL+path, strings.NewReader("{}"))
		}
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		st, b, _ := w.send(t, req, nil)
		if st != c.status || c.code != "" && errCode(b) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, b, c.status, c.code)
		}
	}
	// Another party's grant is unknown to it.
	other := mustKey(t)
	reg := strings.Replace(rpRegistration(t, other), testRP, "other-party", 1)
	if st := w.s.do(t, "POST", "/v1/relying-parties", w.admin, ctJSON, reg, nil); st != 201 {
		t.Fatalf("registering another party: %d", st)
	}
	if st, b, _ := w.call(t, other, "other-party", "GET", path, "", nil); st != 404 || errCode(b) != service.CodeGrantNotFound {
		t.Errorf("another party's fetch: %d %s", st, b)
	}
	// A holder lists only its own copy.
	if st, b, _ := w.call(t, w.dev, w.copyID, "GET", "/v1/holder/uses?licence=x%23y", "", nil); st != 403 {
		t.Errorf("holder listing another copy: %d %s", st, b)
	}
	// A suspended party: 403 RP_SUSPENDED; its grant stays void after it
	// resumes.
	if st := w.s.do(t, "POST", "/v1/relying-parties/"+testRP+"/suspend", w.admin, ctJSON, `{"reason":"核查"}`, nil); st != 200 {
		t.Fatalf("suspend: %d", st)
	}
	if st, b, _ := w.call(t, w.rpKey, w.rp, "GET", path, "", nil); st != 403 || errCode(b) != service.CodeRPSuspended {
		t.Errorf("fetch while suspended: %d %s", st, b)
	}
	if st := w.s.do(t, "POST", "/v1/relying-parties/"+testRP+"/resume", w.admin, "", "", nil); st != 200 {
		t.Fatalf("resume: %d", st)
	}
	if st, b, _ := w.call(t, w.rpKey, w.rp, "GET", path, "", nil); st != 410 || errCode(b) != service.CodeGrantRevoked {
		t.Errorf("fetch after the resumption: %d %s", st, b)
	}
}

func TestRPRateLimit(t *testing.T) {
	w := newConsentWorld(t, func(o *Options) { o.RPRate = 1 })
	g, _ := w.grant(t, "repeat")
	path := "/v1/grants/" + g + "/credential"
	for i := range 2 { // the burst: twice the rate
		if st, b, _ := w.call(t, w.rpKey, w.rp, "GET", path, "", nil); st != 200 {
			t.Fatalf("fetch %d: %d %s", i, st, b)
		}
	}
	st, b, retry := w.call(t, w.rpKey, w.rp, "GET", path, "", nil)
	if st != 429 || errCode(b) != "RATE_LIMITED" || retry == "" {
		t.Fatalf("past the burst: %d %s (Retry-After %q)", st, b, retry)
	}
}

func TestRelyingPartyAdmin(t *testing.T) {
	w := newConsentWorld(t, nil)
	aud := w.s.token(t, service.Operator{Subject: "aud", Role: service.RoleAuditor, Agency: "11310000PDY100010H"})
	var list struct {
		RelyingParties []service.RPView `json:"relying_parties"`
	}
	if st := w.s.do(t, "GET", "/v1/relying-parties", aud, "", "", &list); st != 200 || len(list.RelyingParties) != 1 {
		t.Fatalf("list: %d %+v", st, list)
	}
	if st := w.s.do(t, "POST", "/v1/relying-parties", aud, ctJSON, rpRegistration(t, mustKey(t)), nil); st != 403 {
		t.Errorf("an auditor registered a party: %d", st)
	}
	if st := w.s.do(t, "POST", "/v1/relying-parties", w.admin, ctJSON, rpRegistration(t, mustKey(t)), nil); st != 409 {
		t.Errorf("an id registered twice: %d", st)
	}
	if st := w.s.do(t, "PUT", "/v1/relying-parties/another", w.admin, ctJSON, rpRegistration(t, mustKey(t)), nil); st != 422 {
		t.Errorf("a PUT whose body names another id: %d", st)
	}
	if st := w.s.do(t, "PUT", "/v1/relying-parties/"+testRP, w.admin, ctJSON, rpRegistration(t, w.rpKey), nil); st != 200 {
		t.Errorf("replace: %d", st)
	}
	if st := w.s.do(t, "DELETE", "/v1/relying-parties/"+testRP, w.admin, ctJSON, `{"reason":"撤销"}`, nil); st != 200 {
		t.Errorf("remove: %d", st)
	}
	var v service.RPView
	if st := w.s.do(t, "GET", "/v1/relying-parties/"+testRP, aud, "", "", &v); st != 200 || v.State != "removed" {
		t.Errorf("after removal: %d %+v", st, v)
	}
	if st, b, _ := w.call(t, w.rpKey, w.rp, "POST", "/v1/requests", `{"matter":"310100001000","class":"business-license","fields":["name"],"duration":60,"use":"once"}`, nil); st != 401 {
		t.Errorf("a removed party's request: %d %s", st, b)
	}
}

// TestRequestRPState: the party's own state comes back with its request.
func TestRequestRPState(t *testing.T) {
	w := newConsentWorld(t, nil)
	var m service.RequestMade
	body := `{"matter":"310100001000","class":"business-license","fields":["name"],"duration":3600,"use":"once","state":"case-2026-0042"}`
	if st, b, _ := w.call(t, w.rpKey, w.rp, "POST", "/v1/requests", body, &m); st != 201 {
		t.Fatalf("request: %d %s", st, b)
	}
	var rs service.RequestState
	if st, _, _ := w.call(t, nil, "", "GET", "/v1/requests/"+m.ID, "", &rs); st != 200 || rs.RPState != "case-2026-0042" || rs.State != "pending" {
		t.Fatalf("reading the request: %d %+v", st, rs)
	}
}
