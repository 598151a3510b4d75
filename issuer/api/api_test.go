package api

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/runtimecfg"
	"elicense/issuer/pki"
	"elicense/issuer/publish"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/state/statetest"
	"elicense/issuer/status"
)

type memStatus struct {
	mu   sync.Mutex
	next uint64
}

func (m *memStatus) Allocate(agency string) (string, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	return "t1", m.next, nil
}
func (m *memStatus) Set(string, uint64, state.Status) error { return nil }
func (m *memStatus) Release(string, uint64)                 {}
func (m *memStatus) URI(list string) string                 { return "http://127.0.0.1/v1/status/" + list }

type testServer struct {
	*httptest.Server
	pki    *pki.PKI
	tokens *Tokens
	svc    *service.Service
}

var (
	pkiOnce sync.Once
	pkiDir  string
	pkiErr  error
)

func newTestServer(t testing.TB) *testServer { return newTestServerWith(t, false) }

// newTestServerWith starts a test server on a copy of the test PKI (key
// changes write to it), publishing status lists and the trust bundle when
// publishing is set.
func newTestServerWith(t testing.TB, publishing bool) *testServer {
	t.Helper()
	return newTestServerOpts(t, publishing, nil)
}

// newTestServerOpts is newTestServerWith with the API's options changed
// by tweak (when not nil) before the handler is built.
func newTestServerOpts(t testing.TB, publishing bool, tweak func(*Options)) *testServer {
	t.Helper()
	pkiOnce.Do(func() {
		pkiDir, pkiErr = os.MkdirTemp("", "elicense-api-pki-")
		if pkiErr == nil {
			_, pkiErr = pki.Init(pki.InitOptions{Dir: filepath.Join(pkiDir, "pki"), Passphrase: []byte("pw"),
				Agencies: pki.DefaultAgencies(), KeyEncryption: &gm.KeyEncryption{Iterations: 1000}})
		}
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "pki"), os.DirFS(filepath.Join(pkiDir, "pki"))); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(filepath.Join(dir, "pki"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := service.OpenData(statetest.Open(t, dir), ledger.Options{Origin: "test/ledger", Signer: p.Ledger.Signer})
	if err != nil {
		t.Fatal(err)
	}
	st, lg := data.Store, data.Ledger
	var sl service.StatusLists = &memStatus{}
	var sm *status.Manager
	if publishing {
		codes := make([]string, len(p.Agencies))
		for i, a := range p.Agencies {
			codes[i] = a.Code
		}
		sm = status.New(status.Options{BaseURL: "http://127.0.0.1", Signer: p.Ledger.Signer, KeyID: p.Ledger.KeyID, Agencies: codes})
		sl = sm
	}
	svc, err := service.New(service.Options{PKI: p, Store: st, Ledger: lg, Status: sl, Passphrase: []byte("pw"), Audit: testAudit})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	key, _ := gm.GenerateKey()
	tokens := NewTokens(key, "test", st, nil)
	o := Options{Service: svc, Store: st, Ledger: lg, Tokens: tokens}
	if publishing {
		o.Publisher = publish.New(publish.Options{Current: svc.PKI, Status: sm, Ledger: lg})
	}
	if tweak != nil {
		tweak(&o)
	}
	srv := httptest.NewServer(New(o))
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		data.Close()
	})
	return &testServer{Server: srv, pki: p, tokens: tokens, svc: svc}
}

func TestMain(m *testing.M) {
	// The server's runtime settings, so the benchmarks measure what
	// serve runs (and name themselves -4 on 2 cores).
	runtimecfg.Apply(runtimecfg.Settings{LookupEnv: os.LookupEnv})
	code := m.Run()
	if pkiDir != "" {
		os.RemoveAll(pkiDir)
	}
	os.Exit(code)
}

func (s *testServer) token(t testing.TB, op service.Operator) string {
	tok, _, err := s.tokens.Mint(op, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (s *testServer) do(t testing.TB, method, path, token, ctype, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e errBody
		if err := json.Unmarshal(data, &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("%s %s: status %d with a body that is not {code, message}: %s", method, path, resp.StatusCode, data)
		}
		if resp.StatusCode >= 500 && resp.StatusCode != 503 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
	}
	if out != nil {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

func samples(t testing.TB) map[string]map[string]string {
	data, err := os.ReadFile("../../certs/catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Samples map[string]map[string]string `json:"samples"`
	}
	json.Unmarshal(data, &s)
	return s.Samples
}

func issueJSON(t testing.TB, class string) string {
	b, _ := json.Marshal(map[string]any{"class": class, "fields": samples(t)[class]})
	return string(b)
}

const ctJSON = "application/json"

func TestBadInput(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(t, service.Operator{Subject: "op1", Role: service.RoleOperator, Agency: ag.Code})
	expired, _, _ := NewTokens(mustKey(t), "test", nil, func() time.Time { return time.Now().Add(-48 * time.Hour) }).Mint(service.Operator{Subject: "x", Role: service.RoleAdmin}, time.Hour)
	forged, _, _ := NewTokens(mustKey(t), "test", nil, nil).Mint(service.Operator{Subject: "x", Role: service.RoleAdmin}, time.Hour)
	good := issueJSON(t, "business-license")
	badUSCC := strings.Replace(good, samples(t)["business-license"]["uscc"], "91310115MA1FPA014X", 1)
	tests := []struct {
		name, method, path, token, ctype, body string
		status                                 int
		code, field                            string
	}{
		{"no token", "POST", "/v1/licences", "", ctJSON, good, 401, "unauthorized", ""},
		{"expired token", "POST", "/v1/licences", expired, ctJSON, good, 401, "unauthorized", ""},
		{"forged token", "POST", "/v1/licences", forged, ctJSON, good, 401, "unauthorized", ""},
		{"garbage token", "POST", "/v1/licences", "abc.def.ghi", ctJSON, good, 401, "unauthorized", ""},
		{"wrong content type", "POST", "/v1/licences", tok, "text/plain", good, 415, "unsupported_media_type", ""},
		{"malformed JSON", "POST", "/v1/licences", tok, ctJSON, `{"class": "business-license",`, 400, "bad_json", ""},
		{"wrong JSON type", "POST", "/v1/licences", tok, ctJSON, `{"class": 7}`, 400, "bad_json", "class"},
		{"unknown member", "POST", "/v1/licences", tok, ctJSON, `{"klass": "x"}`, 400, "bad_json", ""},
		{"trailing data", "POST", "/v1/licences", tok, ctJSON, good + `{}`, 400, "bad_json", ""},
		{"unknown class", "POST", "/v1/licences", tok, ctJSON, `{"class":"fishing-permit","fields":{}}`, 422, "invalid", "class"},
		{"bad check digit", "POST", "/v1/licences", tok, ctJSON, badUSCC, 422, "invalid", "uscc"},
		{"oversized body", "POST", "/v1/licences", tok, ctJSON, `{"class":"` + strings.Repeat("x", 5<<20) + `"}`, 413, "request_entity_too_large", ""},
		{"unknown licence", "GET", "/v1/licences/1.2.3", tok, "", "", 404, "not_found", "id"},
		{"bad limit", "GET", "/v1/licences?limit=0", tok, "", "", 400, "bad_request", "limit"},
		{"bad status filter", "GET", "/v1/licences?status=gone", tok, "", "", 422, "invalid", "status"},
		{"unknown route", "GET", "/v1/nothing", "", "", "", 404, "not_found", ""},
		{"wrong method", "PUT", "/v1/licences", tok, ctJSON, good, 405, "method_not_allowed", ""},
		{"bad proof index", "GET", "/v1/ledger/proof/inclusion?index=x&tree_size=1", "", "", "", 400, "bad_request", "index"},
		{"proof beyond tree", "GET", "/v1/ledger/proof/inclusion?index=5&tree_size=9", "", "", "", 400, "bad_request", "index"},
		{"entry beyond tree", "GET", "/v1/ledger/entries/99", "", "", "", 404, "not_found", "index"},
		{"revoke without reason", "POST", "/v1/licences/x/revoke", tok, ctJSON, `{}`, 422, "invalid", "reason"},
		{"unknown paging cursor", "GET", "/v1/licences?after=zzzz", tok, "", "", 422, "invalid", "after"},
		{"paging cursor NUL and invalid UTF-8", "GET", "/v1/licences?after=%00%ff", tok, "", "", 400, "invalid_utf8", "after"},
		{"import key of 1 MB", "POST", "/v1/licences", tok, ctJSON, strings.Replace(good, `"class"`, `"import_key":"`+strings.Repeat("k", 1<<20)+`","class"`, 1), 422, "invalid", "import_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e errBody
			if got := s.do(t, tc.method, tc.path, tc.token, tc.ctype, tc.body, &e); got != tc.status || e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Fatalf("got %d %+v, want %d %s field %q", got, e, tc.status, tc.code, tc.field)
			}
		})
	}
	// Nothing was written by any of them.
	var list struct{ Licences []licenceView }
	s.do(t, "GET", "/v1/licences", tok, "", "", &list)
	if len(list.Licences) != 0 {
		t.Fatalf("bad requests wrote %d licences", len(list.Licences))
	}
}

func mustKey(t testing.TB) *gm.PrivateKey {
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAuthorizationMatrix walks every mutating endpoint × role × own or
// other agency and checks allow or deny. Tokens and agency keys are the
// admins' alone: an operator of the agency is refused (403) too.
func TestAuthorizationMatrix(t *testing.T) {
	s := newTestServer(t)
	own, _ := s.pki.AgencyForClass("business-license")
	other, _ := s.pki.AgencyForClass("drivers-license")
	admin := s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin})
	fresh := func() string {
		var v licenceView
		if st := s.do(t, "POST", "/v1/licences", admin, ctJSON, strings.Replace(issueJSON(t, "business-license"), `"class"`, `"agency":"`+own.Code+`","class"`, 1), &v); st != 201 {
			t.Fatalf("admin issue: %d", st)
		}
		return v.ID
	}
	type endpoint struct {
		name   string
		method string
		path   func() string
		body   string
		ok     int
	}
	endpoints := []endpoint{
		{"issue", "POST", func() string { return "/v1/licences" }, issueJSON(t, "business-license"), 201},
		{"reissue", "POST", func() string { return "/v1/licences/" + fresh() + "/reissue" }, `{"fields":{"legal_rep":"王五"}}`, 201},
		{"suspend", "POST", func() string { return "/v1/licences/" + fresh() + "/suspend" }, `{"reason":"核查"}`, 200},
		{"revoke", "POST", func() string { return "/v1/licences/" + fresh() + "/revoke" }, `{"reason":"注销"}`, 200},
		{"reinstate", "POST", func() string {
			id := fresh()
			s.do(t, "POST", "/v1/licences/"+id+"/suspend", admin, ctJSON, `{"reason":"核查"}`, nil)
			return "/v1/licences/" + id + "/reinstate"
		}, `{}`, 200},
		{"make seal", "POST", func() string { return "/v1/seals" }, sealBody(t, own.Code), 201},
		{"revoke seal", "POST", func() string {
			var m struct{ ESID string }
			if st := s.do(t, "POST", "/v1/seals", admin, ctJSON, sealBody(t, own.Code), &m); st != 201 {
				t.Fatalf("admin make seal: %d", st)
			}
			return "/v1/seals/" + m.ESID + "/revoke"
		}, `{"reason":"遗失"}`, 200},
		{"create token", "POST", func() string { return "/v1/tokens" }, `{"subject":"x","role":"auditor","agency":"` + own.Code + `","ttl":"1h"}`, 201},
		{"rotate key", "POST", func() string { return "/v1/agencies/" + own.Code + "/keys/rotate" }, ``, 200},
		{"compromise key", "POST", func() string {
			ch, err := s.svc.RotateKey(context.Background(), service.Operator{Subject: "admin", Role: service.RoleAdmin}, own.Code, service.RotateRequest{})
			if err != nil {
				t.Fatal(err)
			}
			return "/v1/agencies/" + own.Code + "/keys/" + ch.Old.KID + "/compromise"
		}, `{"since":"` + time.Now().Format(time.RFC3339) + `"}`, 200},
		{"revoke token", "DELETE", func() string { return "/v1/tokens/abc" }, ``, 204},
	}
	roles := []struct {
		name    string
		op      service.Operator
		allowed map[string]bool
	}{
		{"admin", service.Operator{Subject: "a", Role: service.RoleAdmin}, map[string]bool{"issue": false /* needs agency */, "reissue": true, "suspend": true, "revoke": true, "reinstate": true, "make seal": true, "revoke seal": true, "create token": true, "revoke token": true, "rotate key": true, "compromise key": true}},
		{"operator, own agency", service.Operator{Subject: "o", Role: service.RoleOperator, Agency: own.Code}, map[string]bool{"issue": true, "reissue": true, "suspend": true, "revoke": true, "reinstate": true, "make seal": true, "revoke seal": true}},
		{"operator, other agency", service.Operator{Subject: "p", Role: service.RoleOperator, Agency: other.Code}, map[string]bool{}},
		{"operator, own agency, other classes", service.Operator{Subject: "q", Role: service.RoleOperator, Agency: own.Code, Classes: []string{"food-operation-permit"}}, map[string]bool{}},
		{"auditor, own agency", service.Operator{Subject: "r", Role: service.RoleAuditor, Agency: own.Code}, map[string]bool{}},
	}
	for _, r := range roles {
		tok := s.token(t, r.op)
		for _, ep := range endpoints {
			t.Run(r.name+"/"+ep.name, func(t *testing.T) {
				body, ctype := ep.body, ctJSON
				if body == "" {
					ctype = ""
				}
				got := s.do(t, ep.method, ep.path(), tok, ctype, body, nil)
				if allowed := r.allowed[ep.name]; allowed != (got == ep.ok) {
					t.Fatalf("status %d; allowed=%v", got, allowed)
				}
				if !r.allowed[ep.name] && got != 403 && got != 404 && got != 422 {
					t.Fatalf("denied with %d, want 403/404 (or 422 for a missing agency)", got)
				}
				if !r.allowed[ep.name] && strings.HasSuffix(ep.name, " key") && got != 403 {
					t.Fatalf("denied with %d, want 403", got)
				}
			})
		}
	}
}

func TestLifecycleOverHTTP(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(t, service.Operator{Subject: "op1", Role: service.RoleOperator, Agency: ag.Code})
	var batch struct {
		Results []batchResult `json:"results"`
	}
	body, _ := json.Marshal(map[string]any{"licences": []map[string]any{
		{"class": "business-license", "fields": samples(t)["business-license"]},
		{"class": "营业执照", "fields": map[string]string{"name": "x"}},
		{"class": "food-operation-permit", "fields": samples(t)["food-operation-permit"]},
	}})
	if st := s.do(t, "POST", "/v1/licences", tok, ctJSON, string(body), &batch); st != 207 {
		t.Fatalf("batch: %d", st)
	}
	if batch.Results[0].Licence == nil || batch.Results[1].Error == nil || batch.Results[2].Licence == nil {
		t.Fatalf("batch results %+v", batch.Results)
	}
	id := batch.Results[0].Licence.ID
	var v licenceView
	if st := s.do(t, "GET", "/v1/licences/"+id, tok, "", "", &v); st != 200 || v.Credential == "" || !strings.HasPrefix(v.QR, qr.Prefix) {
		t.Fatalf("get: %d %+v", st, v)
	}
	// The issuance answer renders the QR from the core it just built,
	// GET from the stored one: they must be the same text.
	if issued := batch.Results[0].Licence; issued.QR != v.QR || issued.Credential != v.Credential {
		t.Fatalf("issuance answer and GET differ:\nqr %q\nvs %q", issued.QR, v.QR)
	}
	var found struct {
		Licences []licenceView
		Next     string
	}
	s.do(t, "GET", "/v1/licences?holder="+v.HolderCode, tok, "", "", &found)
	if len(found.Licences) != 1 || found.Licences[0].ID != id {
		t.Fatalf("search by holder: %+v", found)
	}
	if st := s.do(t, "POST", "/v1/licences/"+id+"/revoke", tok, ctJSON, `{"reason":"吊销"}`, &v); st != 200 || v.Status != state.StatusRevoked {
		t.Fatalf("revoke: %d %v", st, v.Status)
	}
	s.do(t, "GET", "/v1/licences?status=revoked", tok, "", "", &found)
	if len(found.Licences) != 1 {
		t.Fatalf("search revoked: %d", len(found.Licences))
	}
	// QR images.
	for _, f := range []string{"png", "svg"} {
		req, _ := http.NewRequest("GET", s.URL+"/v1/licences/"+id+"/qr?format="+f, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || (f == "png" && !bytes.HasPrefix(data, []byte("\x89PNG"))) || (f == "svg" && !bytes.Contains(data, []byte("<svg"))) {
			t.Fatalf("qr %s: %d %q", f, resp.StatusCode, data[:min(20, len(data))])
		}
	}
	// Ledger: checkpoint and an inclusion proof.
	var proof struct{ Proof []string }
	if st := s.do(t, "GET", fmt.Sprintf("/v1/ledger/proof/inclusion?index=%d&tree_size=%d", 0, 3), "", "", "", &proof); st != 200 || len(proof.Proof) == 0 {
		t.Fatalf("inclusion proof: %d %v", st, proof)
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &spec); err != nil {
		t.Fatal(err)
	}
	a := New(Options{})
	seen := map[string]bool{}
	for _, r := range a.Echo().Routes() {
		if strings.HasPrefix(r.Path, "/*") || r.Method == "echo_route_not_found" {
			continue
		}
		p := r.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		if rest, ok := strings.CutSuffix(p, "/*"); ok {
			p = rest + "/{path}" // a path of several segments
		}
		key := strings.ToLower(r.Method) + " " + p
		seen[key] = true
		if _, ok := spec.Paths[p][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", r.Method, p)
		}
	}
	for p, ops := range spec.Paths {
		for m := range ops {
			if !seen[m+" "+p] {
				t.Errorf("openapi.json documents %s %s, which has no handler", m, p)
			}
		}
	}
}

// A revoked token is refused at once, even though verified tokens are
// cached.
func TestRevokedTokenRefused(t *testing.T) {
	s := newTestServer(t)
	admin := s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin})
	var tok struct{ Token, ID string }
	if st := s.do(t, "POST", "/v1/tokens", admin, ctJSON, `{"subject":"a","role":"auditor","agency":"11310000PDY100010H","ttl":"1h"}`, &tok); st != 201 {
		t.Fatalf("mint: %d", st)
	}
	if st := s.do(t, "GET", "/v1/licences", tok.Token, "", "", nil); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	if st := s.do(t, "DELETE", "/v1/tokens/"+tok.ID, admin, "", "", nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	if st := s.do(t, "GET", "/v1/licences", tok.Token, "", "", nil); st != 401 {
		t.Fatalf("revoked token: %d, want 401", st)
	}
}

// sealBody is a seal request for agency with a fresh holder certificate.
func sealBody(t testing.TB, agency string) string {
	k := mustKey(t.(*testing.T))
	now := time.Now()
	tmpl := &gm.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "holder"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature}
	der, err := gm.CreateCertificate(tmpl, tmpl, k.PublicKey(), k)
	if err != nil {
		t.Fatal(err)
	}
	return jsonOf(service.SealRequest{Agency: agency, HolderName: "上海浦江示例科技有限公司", HolderCode: "91110000600037341L", SignerCert: der})
}

// testAudit is the tests' ledger audit key.
var testAudit = func() *ledgerevent.AuditKey {
	a, err := ledgerevent.NewAuditKey(bytes.Repeat([]byte{0xa5}, ledgerevent.AuditKeySize))
	if err != nil {
		panic(err)
	}
	return a
}()
