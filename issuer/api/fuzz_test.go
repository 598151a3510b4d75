package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"elicense/issuer/service"
)

// FuzzRequestBodies sends arbitrary bodies to every endpoint that parses
// one: the answer is a success or a 4xx JSON error, never a 5xx.
func FuzzRequestBodies(f *testing.F) {
	s := newTestServer(f)
	ag, _ := s.pki.AgencyForClass("business-license")
	op := s.token(f, service.Operator{Subject: "fuzz", Role: service.RoleOperator, Agency: ag.Code})
	admin := s.token(f, service.Operator{Subject: "fuzz-admin", Role: service.RoleAdmin})
	handler := s.Config.Handler
	good := issueJSON(f, "business-license")
	for _, seed := range []string{good, `{"licences":[` + good + `]}`, `{}`, `[]`, `null`, `{"class":7}`, `{"reason":"吊销"}`,
		`{"code":"0000-1A7K-3QM9-PX2R-TB8W","device_key":"AAAA","challenge":"x","signature":"y"}`, `{"subject":"x","role":"admin","ttl":"1h"}`, "\xff",
		strings.Replace(good, `"fields":{`, "\"fields\":{\"legal_rep\":\"\xff\",", 1), `{"reason":"\ud800"}`, `{"reason":"a","reason":"b"}`} {
		f.Add(uint8(0), seed)
	}
	paths := []struct{ path, token string }{
		{"/v1/licences", op}, {"/v1/licences/x/revoke", op}, {"/v1/licences/x/reissue", op},
		{"/v1/claims", ""}, {"/v1/tokens", admin},
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		p := paths[int(which)%len(paths)]
		req := httptest.NewRequest("POST", p.path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "127.0.0.1:1"
		if p.token != "" {
			req.Header.Set("Authorization", "Bearer "+p.token)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("POST %s %q: %d %s", p.path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"code"`) {
			t.Fatalf("POST %s: %d without a JSON error: %s", p.path, rec.Code, rec.Body)
		}
		// Text is taken exactly as sent or refused: no body that is not
		// UTF-8, or that escapes an unpaired surrogate, is ever accepted.
		if rec.Code < 300 && (!utf8.ValidString(body) || checkJSONText([]byte(body)) != nil) {
			t.Fatalf("POST %s %q accepted: %d %s", p.path, body, rec.Code, rec.Body)
		}
	})
}
