package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDateKinds(t *testing.T) {
	field := func(typ FieldType, k DateKind) *Field {
		return &Field{Key: "d", Label: "日期", Type: typ, Dates: k, QR: QROptional}
	}
	tests := []struct {
		typ   FieldType
		kind  DateKind
		value string
		err   error // nil: valid
	}{
		{TypeDate, DateAny, "1800-01-01", nil},
		{TypeDate, DateAny, "2199-12-31", nil},
		{TypeDate, DateAny, "1799-12-31", ErrFormat},
		{TypeDate, DateAny, "2200-01-01", ErrFormat},
		{TypeDate, DateEvent, "1850-03-01", nil}, // a 成立日期 may be old
		{TypeDate, DateEvent, "2150-03-01", nil}, // the future is the issuer's check
		{TypeDate, DateEvent, "0000-01-01", ErrFormat},
		{TypeDate, DateAct, "1949-10-01", nil},
		{TypeDate, DateAct, "1949-09-30", ErrRange}, // before the PRC
		{TypeDate, DateAct, "9999-12-31", ErrFormat},
		{TypeDate, DateValidity, "1949-10-01", nil},
		{TypeDate, DateValidity, "2199-12-31", nil},
		{TypeDate, DateValidity, "1900-01-01", ErrRange},
		{TypeDate, DateValidity, "2200-01-01", ErrFormat},
		{TypeDateTime, DateEvent, "1900-01-01 00:00", nil},
		{TypeDateTime, DateAct, "1949-09-30 23:59", ErrRange},
		{TypeDateTime, DateAct, "1949-10-01 00:00", nil},
		{TypeTerm, DateValidity, "2020-01-01至2030-01-01", nil},
		{TypeTerm, DateValidity, "1948-01-01至2030-01-01", ErrRange},
		{TypeTerm, DateValidity, "1990-01-01至长期", nil},
		{TypeTerm, DateValidity, "长期", nil},
		{TypeTerm, DateValidity, "2020-01-01至2200-01-01", ErrFormat},
		{TypeTerm, DateAny, "1900-01-01至1901-01-01", nil},
	}
	for _, tc := range tests {
		err := field(tc.typ, tc.kind).Validate(tc.value)
		if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s %q %q: %v, want %v", tc.typ, tc.kind, tc.value, err, tc.err)
		}
	}
}

func TestValidateAt(t *testing.T) {
	cl, _ := Default().Lookup("business-license")
	rec := loadSamples(t)[cl.Key]
	set := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range rec {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	// 2026-01-14 16:30 UTC is 2026-01-15 00:30 in China: licences issued
	// then are dated the 15th.
	now := time.Date(2026, 1, 14, 16, 30, 0, 0, time.UTC)
	tests := []struct {
		field, value string
		ok           bool
		fields       string // the fields ValidateAt names
	}{
		{"established", "2026-01-15", true, ""}, // today in China
		{"established", "2026-01-16", false, "established"},
		{"established", "1850-05-01", true, ""},
		{"approval_date", "2026-01-15", true, ""},
		{"approval_date", "9999-12-31", false, "approval_date"},
		{"approval_date", "2027-01-01", false, "approval_date"},
		{"approval_date", "1900-01-01", false, "approval_date"},
		{"term", "2026-01-15至2200-01-01", false, "term"},
		{"term", "2030-01-01至2060-01-01", true, ""}, // a validity may start later
	}
	for _, tc := range tests {
		err := cl.ValidateAt(set(tc.field, tc.value), now)
		if (err == nil) != tc.ok {
			t.Errorf("%s=%s: %v", tc.field, tc.value, err)
			continue
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != tc.fields {
				t.Errorf("%s=%s: %v, want a fault in %s only", tc.field, tc.value, err, tc.fields)
			}
		}
	}
	// A future date in a record with other faults: all reported once.
	bad := set("established", "2030-01-01")
	bad["uscc"] = "x"
	var ve *ValidationError
	if err := cl.ValidateAt(bad, now); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("two faults: %v", err)
	}
	// A verifier's Validate has no clock: the future date passes it.
	if err := cl.Validate(set("established", "2030-01-01")); err != nil {
		t.Fatalf("Validate checks the clock: %v", err)
	}
}

func TestParseIssuedOn(t *testing.T) {
	now := time.Date(2026, 1, 14, 16, 30, 0, 0, time.UTC) // 2026-01-15 in China
	tests := []struct {
		in  string
		err error
	}{
		{"2026-01-15", nil}, {"1949-10-01", nil}, {"2000-02-29", nil},
		{"2026-01-16", ErrRange}, {"9999-12-31", ErrFormat}, {"0000-01-01", ErrFormat},
		{"1949-09-30", ErrRange}, {"2199-12-31", ErrRange}, {"2026-1-15", ErrFormat}, {"", ErrFormat},
		{"2026-01-15T00:00:00Z", ErrFormat}, {"2001-02-29", ErrFormat},
	}
	for _, tc := range tests {
		d, err := ParseIssuedOn(tc.in, now)
		if tc.err == nil && (err != nil || d.Format(DateLayout) != tc.in) || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("ParseIssuedOn(%q) = %v, %v; want %v", tc.in, d, err, tc.err)
		}
	}
}

// Every date in the embedded catalogue says what it records.
func TestCatalogueDateKinds(t *testing.T) {
	for _, cl := range Default().Classes() {
		for _, f := range cl.Fields {
			isDate := f.Type == TypeDate || f.Type == TypeDateTime || f.Type == TypeTerm
			if isDate && f.Dates == DateAny {
				t.Errorf("%s/%s (%s): no dates kind", cl.Key, f.Key, f.Label)
			}
			if f.Key == cl.Validity.Field && f.Dates != DateValidity {
				t.Errorf("%s/%s: the validity field is of kind %q", cl.Key, f.Key, f.Dates)
			}
		}
	}
}

func TestParseDatesKind(t *testing.T) {
	for _, tc := range []struct{ field, want string }{
		{`{"key":"d","name":"日期","type":"date","dates":"someday","qr":"always"}`, `unknown dates "someday"`},
		{`{"key":"d","name":"日期","type":"text","max_len":5,"dates":"event","qr":"always"}`, "dates given for type text"},
		{`{"key":"d","name":"日期","type":"term","dates":"act","qr":"always"}`, `dates "act" does not fit a term`},
		{`{"key":"d","name":"日期","type":"datetime","dates":"validity","qr":"always"}`, `dates "validity" does not fit a datetime`},
	} {
		_, err := parseField([]byte(tc.field), 0, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.field, err, tc.want)
		}
	}
	f, err := parseField([]byte(`{"key":"d","name":"日期","type":"date","dates":"act","qr":"always"}`), 0, nil)
	if err != nil || f.Dates != DateAct {
		t.Fatalf("act date: %v %q", err, f.Dates)
	}
}

// TestCheckIssueDay finds exactly the late dates ValidateAt adds to
// Validate, for valid and invalid records alike.
func TestCheckIssueDay(t *testing.T) {
	cl, _ := Default().Lookup("business-license")
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		established string
		late        bool
	}{{"2016-03-08", false}, {"2026-12-06", false}, {"2026-12-07", true}, {"2099-01-01", true}, {"not a date", false}} {
		rec := map[string]string{"established": tc.established}
		err := cl.CheckIssueDay(rec, now)
		var ve *ValidationError
		if got := errors.As(err, &ve) && len(ve.Fields) == 1 && ve.Fields[0].Field == "established"; got != tc.late || (err != nil) != tc.late {
			t.Errorf("established %s: %v, want late %v", tc.established, err, tc.late)
		}
	}
}
