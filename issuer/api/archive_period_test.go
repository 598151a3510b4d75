package api

import (
	"net/http"
	"testing"

	"elicense/internal/ledger"
	"elicense/issuer/service"
	"elicense/issuer/state"
)

// A period bound outside the years a package can hold is a 400 naming
// the field, not a 500 when the package is written; a period with no
// licence event of the agency is a 422 NOTHING_TO_ARCHIVE and records
// nothing in the ledger.
func TestArchivePeriod(t *testing.T) {
	var lg *ledger.Log[state.Tx]
	s := newTestServerOpts(t, false, func(o *Options) { lg = o.Ledger.(*ledger.Log[state.Tx]) })
	ag := s.pki.Agencies[0].Code
	admin := s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin})
	before := lg.Size()
	for _, tc := range []struct {
		name, from, to string
		want           int
		code, field    string
	}{
		{"year zero", "0000-01-01", "2026-02-01", http.StatusBadRequest, "bad_request", "from"},
		{"before 1970", "1969-12-31", "2026-02-01", http.StatusBadRequest, "bad_request", "from"},
		{"past year 9999 in UTC", "2026-01-01", "9999-12-31T23:00:00-23:00", http.StatusBadRequest, "bad_request", "to"},
		{"nothing in the period", "2001-01-01", "2001-02-01", http.StatusUnprocessableEntity, "NOTHING_TO_ARCHIVE", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e errBody
			body := `{"agency":"` + ag + `","from":"` + tc.from + `","to":"` + tc.to + `"}`
			if got := s.do(t, "POST", "/v1/archives", admin, "application/json", body, &e); got != tc.want || e.Code != tc.code || e.Field != tc.field || e.Message == "" {
				t.Fatalf("got %d %+v, want %d %s field %q", got, e, tc.want, tc.code, tc.field)
			}
		})
	}
	if after := lg.Size(); after != before {
		t.Errorf("the ledger grew from %d to %d entries: a refused export was recorded", before, after)
	}
}
