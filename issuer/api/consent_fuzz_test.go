package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"elicense/certs/consent"
	"elicense/internal/gm"
)

// FuzzConsentHandlers sends arbitrary input to the 授权用证 routes, past
// their authentication where there is one (the proofs are signed over
// what is sent): bodies of requests, consents and registrations, ids in
// paths and queries, and Authorization headers. The answer is a success
// or a 4xx JSON error, never a 5xx.
func FuzzConsentHandlers(f *testing.F) {
	w := newConsentWorld(f, nil)
	g, r := w.grant(f, "repeat")
	for _, seed := range []string{
		`{"matter":"310100001000","class":"business-license","fields":["name"],"duration":60,"use":"once"}`,
		`{"matter":"310100001000","class":"business-license","fields":["name"],"duration":1e99,"use":"once"}`,
		`{"consent":"a.b.c"}`, `{"consent":""}`, `{}`, `null`, "\xff", `{"reason":"\ud800"}`,
		rpRegistration(f, w.rpKey), g, r, w.copyID, "g_" + strings.Repeat("A", 22), "ELProof " + strings.Repeat("A", 100),
		"../../v1/licences", "%00", "x#y",
	} {
		for which := range uint8(9) {
			f.Add(which, seed)
		}
	}
	handler := w.s.Config.Handler
	type route struct {
		method, path string
		key          *gm.PrivateKey
		sub          string
		body, admin  bool
	}
	f.Fuzz(func(t *testing.T, which uint8, in string) {
		esc := url.PathEscape(in)
		var rt route
		switch which % 9 {
		case 0:
			rt = route{"POST", "/v1/requests", w.rpKey, w.rp, true, false}
		case 1:
			rt = route{"POST", "/v1/grants", nil, "", true, false}
		case 2:
			rt = route{"POST", "/v1/relying-parties", nil, "", true, true}
		case 3:
			rt = route{"PUT", "/v1/relying-parties/" + testRP, nil, "", true, true}
		case 4:
			rt = route{"DELETE", "/v1/grants/" + esc, w.dev, w.copyID, false, false}
		case 5:
			rt = route{"GET", "/v1/grants/" + esc + "/credential", w.rpKey, w.rp, false, false}
		case 6:
			rt = route{"GET", "/v1/holder/uses?licence=" + url.QueryEscape(in), w.dev, w.copyID, false, false}
		case 7:
			rt = route{"GET", "/v1/requests/" + esc, nil, "", false, false}
		case 8:
			rt = route{"GET", "/v1/grants/" + g + "/credential", nil, "", false, false}
		}
		var req *http.Request
		if rt.body {
			req = httptest.NewRequest(rt.method, rt.path, strings.NewReader(in))
			req.Header.Set("Content-Type", "application/json")
		} else {
			req = httptest.NewRequest(rt.method, rt.path, nil)
		}
		req.RemoteAddr = "127.0.0.1:1"
		switch {
		case rt.admin:
			req.Header.Set("Authorization", "Bearer "+w.admin)
		case rt.key != nil:
			body := []byte(nil)
			if rt.body {
				body = []byte(in)
			}
			// A path a proof cannot name goes without one (401).
			if p, err := consent.SignProof(rt.key, consent.ProofClaims{Subject: rt.sub, Method: rt.method, Path: req.URL.EscapedPath(), Body: body}); err == nil {
				req.Header.Set("Authorization", consent.AuthScheme+" "+p)
			}
		case which%9 == 8:
			req.Header.Set("Authorization", in)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, in, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e errBody
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %s: %d without a JSON error: %s", rt.method, rt.path, rec.Code, rec.Body)
			}
		}
		if which%9 == 8 && rec.Code < 300 {
			t.Fatalf("a fuzzed Authorization %q fetched a credential", in)
		}
	})
}
