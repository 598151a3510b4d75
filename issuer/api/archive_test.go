package api

import (
	"net/http"
	"testing"

	"elicense/issuer/service"
)

// TestArchiveRefusals: every refusal of POST /v1/archives is a JSON 4xx
// before any byte of a package.
func TestArchiveRefusals(t *testing.T) {
	s := newTestServer(t)
	ag := s.pki.Agencies[0].Code
	admin := s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin})
	clerk := s.token(t, service.Operator{Subject: "clerk", Role: service.RoleOperator, Agency: ag})
	const json = "application/json"
	for _, tc := range []struct {
		name, token, ctype, body string
		want                     int
		field                    string
	}{
		{"no token", "", json, `{"agency":"` + ag + `","from":"2026-01-01","to":"2026-02-01"}`, http.StatusUnauthorized, ""},
		{"operator", clerk, json, `{"agency":"` + ag + `","from":"2026-01-01","to":"2026-02-01"}`, http.StatusForbidden, ""},
		{"no agency", admin, json, `{"from":"2026-01-01","to":"2026-02-01"}`, http.StatusBadRequest, "agency"},
		{"unknown agency", admin, json, `{"agency":"NOSUCH","from":"2026-01-01","to":"2026-02-01"}`, http.StatusNotFound, "agency"},
		{"bad from", admin, json, `{"agency":"` + ag + `","from":"January","to":"2026-02-01"}`, http.StatusBadRequest, "from"},
		{"bad to", admin, json, `{"agency":"` + ag + `","from":"2026-01-01","to":"2026-13-01"}`, http.StatusBadRequest, "to"},
		{"empty period", admin, json, `{"agency":"` + ag + `","from":"2026-02-01","to":"2026-02-01"}`, http.StatusUnprocessableEntity, "to"},
		{"period not ended", admin, json, `{"agency":"` + ag + `","from":"2026-01-01","to":"2999-01-01"}`, http.StatusUnprocessableEntity, "to"},
		{"not JSON", admin, "text/plain", `agency=x`, http.StatusUnsupportedMediaType, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e errBody
			if got := s.do(t, "POST", "/v1/archives", tc.token, tc.ctype, tc.body, &e); got != tc.want || e.Field != tc.field {
				t.Fatalf("got %d %+v, want %d field %q", got, e, tc.want, tc.field)
			}
		})
	}
}
