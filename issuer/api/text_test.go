package api

import (
	"strings"
	"testing"
	"time"

	"elicense/issuer/service"
)

func TestTextExactlyAsSent(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(t, service.Operator{Subject: "op1", Role: service.RoleOperator, Agency: ag.Code})
	good := issueJSON(t, "business-license")
	rep := samples(t)["business-license"]["legal_rep"]
	withRep := func(v string) string { return strings.Replace(good, `"legal_rep":"`+rep+`"`, `"legal_rep":"`+v+`"`, 1) }
	if withRep("x") == good {
		t.Fatal("sample has no legal_rep to replace")
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"invalid UTF-8 in a field value", "POST", "/v1/licences", withRep("张\xff三"), 400, "invalid_utf8", "legal_rep"},
		{"truncated UTF-8 sequence", "POST", "/v1/licences", withRep("张\xe4\xb8"), 400, "invalid_utf8", "legal_rep"},
		{"overlong encoding", "POST", "/v1/licences", withRep("\xc0\xaf"), 400, "invalid_utf8", "legal_rep"},
		{"encoded surrogate", "POST", "/v1/licences", withRep("\xed\xa0\x80"), 400, "invalid_utf8", "legal_rep"},
		{"unpaired surrogate escape", "POST", "/v1/licences", withRep(`\ud800`), 400, "invalid_utf8", "legal_rep"},
		{"lone low surrogate escape", "POST", "/v1/licences", withRep(`a\udc00b`), 400, "invalid_utf8", "legal_rep"},
		{"invalid UTF-8 in a member name", "POST", "/v1/licences", strings.Replace(good, `"legal_rep"`, "\"legal\xff_rep\"", 1), 400, "invalid_utf8", "fields"},
		{"invalid UTF-8 in the class", "POST", "/v1/licences", "{\"class\":\"business-license\xff\",\"fields\":{}}", 400, "invalid_utf8", "class"},
		{"invalid UTF-8 in a batch", "POST", "/v1/licences", `{"licences":[` + good + `,` + withRep("\xff") + `]}`, 400, "invalid_utf8", "legal_rep"},
		{"duplicate member", "POST", "/v1/licences", strings.Replace(good, `"fields":{`, `"fields":{"legal_rep":"李四",`, 1), 400, "bad_json", "legal_rep"},
		{"invalid UTF-8 in a reason", "POST", "/v1/licences/x/revoke", "{\"reason\":\"\xff\"}", 400, "invalid_utf8", "reason"},
		{"invalid UTF-8 in a path parameter", "GET", "/v1/licences/%FF", "", 400, "invalid_utf8", "id"},
		{"invalid UTF-8 in a query value", "GET", "/v1/licences?holder=%FF", "", 400, "invalid_utf8", "holder"},
		{"invalid UTF-8 in a query name", "GET", "/v1/licences?%FF=1", "", 400, "invalid_utf8", "\uFFFD"},
		{"invalid UTF-8 in after", "GET", "/v1/licences?after=%00%ff", "", 400, "invalid_utf8", "after"},
		{"a valid surrogate pair is text", "POST", "/v1/licences", withRep(`\ud842\udfb7`), 201, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e errBody
			ct := ""
			if tc.body != "" {
				ct = ctJSON
			}
			got := s.do(t, tc.method, tc.path, tok, ct, tc.body, &e)
			if got != tc.status || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("got %d %+v, want %d %s field %q", got, e, tc.status, tc.code, tc.field)
			}
		})
	}
	// Only the valid one was issued, with its text as sent: 𠮷.
	var list struct{ Licences []licenceView }
	s.do(t, "GET", "/v1/licences", tok, "", "", &list)
	if len(list.Licences) != 1 || list.Licences[0].Fields["legal_rep"] != "\U00020BB7" {
		t.Fatalf("licences after the refusals: %+v", list.Licences)
	}
}

func TestCheckJSONText(t *testing.T) {
	for body, want := range map[string]string{
		`{}`: "", `{"a":"b"}`: "", `{"a":[1,2,{"b":"\u00e9"}]}`: "", `{"a":`: "", `not json`: "", ``: "",
		`{"a":1,"a":1}`: "bad_json a", `{"a":{"b":1,"b":2}}`: "bad_json b",
		"{\"a\":\"\xff\"}": "invalid_utf8 a", "\xff": "invalid_utf8 ", `{"a":["\udfff"]}`: "invalid_utf8 0",
		"{\"a\":1} \xff": "invalid_utf8 ",
	} {
		got := ""
		if err := checkJSONText([]byte(body)); err != nil {
			ae := err.(*apiError)
			got = ae.body.Code + " " + ae.body.Field
		}
		if got != want {
			t.Errorf("checkJSONText(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestDateBounds(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(t, service.Operator{Subject: "op1", Role: service.RoleOperator, Agency: ag.Code})
	good := issueJSON(t, "business-license")
	est := samples(t)["business-license"]["established"]
	tomorrow := time.Now().Add(8*time.Hour + 24*time.Hour).UTC().Format("2006-01-02") // tomorrow in China
	for _, tc := range []struct {
		name, body, field string
	}{
		{"issued_on far in the future", strings.Replace(good, `{`, `{"issued_on":"9999-12-31",`, 1), "issued_on"},
		{"issued_on year zero", strings.Replace(good, `{`, `{"issued_on":"0000-01-01",`, 1), "issued_on"},
		{"issued_on tomorrow", strings.Replace(good, `{`, `{"issued_on":"`+tomorrow+`",`, 1), "issued_on"},
		{"issued_on before 1949-10-01", strings.Replace(good, `{`, `{"issued_on":"1949-09-30",`, 1), "issued_on"},
		{"成立日期 tomorrow", strings.Replace(good, est, tomorrow, 1), "established"},
	} {
		var e errBody
		if st := s.do(t, "POST", "/v1/licences", tok, ctJSON, tc.body, &e); st != 422 || e.Field != tc.field {
			t.Errorf("%s: %d %+v", tc.name, st, e)
		}
	}
	var lic licenceView
	if st := s.do(t, "POST", "/v1/licences", tok, ctJSON, strings.Replace(good, `{`, `{"issued_on":"1949-10-01",`, 1), &lic); st != 201 {
		t.Fatalf("issued_on 1949-10-01: %d", st)
	}
}
