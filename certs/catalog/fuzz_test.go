package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes to the catalogue parser: it must never
// panic, its errors must name the package, and whatever it accepts must be
// internally consistent.
func FuzzParse(f *testing.F) {
	// Seed with each embedded class as a one-class catalogue cut down to
	// the fields its rules refer to: small inputs keep executions and
	// minimisation fast.
	for _, cl := range Default().Classes() {
		f.Add(compactCatalogue(f, cl))
	}
	f.Add([]byte(baseCatalogue))
	f.Add([]byte(`{"classes":[{}]}`))
	f.Add([]byte(`{"classes":[null]}`))
	f.Add([]byte(`{"value_sets":{"a":["x"]},"classes":[{"key":"a","fields":[{"key":"b","type":"enum","value_set":"a"}]}]}`))
	files, _ := filepath.Glob("testdata/broken/*.json")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			if _, body, ok := strings.Cut(string(data), "\n"); ok {
				f.Add([]byte(body))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("catalogue and error both returned")
			}
			if !strings.HasPrefix(err.Error(), "catalog: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		classes := c.Classes()
		if len(classes) == 0 {
			t.Fatal("accepted a catalogue without classes")
		}
		for _, cl := range classes {
			for _, s := range []string{cl.Key, cl.TypeCode, cl.NameZH} {
				if got, ok := c.Lookup(s); !ok || got != cl {
					t.Fatalf("Lookup(%q) does not find %q", s, cl.Key)
				}
			}
			if len(cl.TypeCode) != typeCodeLen {
				t.Fatalf("type code %q", cl.TypeCode)
			}
			if err := cl.HolderCodeValidate(""); err == nil {
				t.Fatal("empty holder code accepted")
			}
			if len(cl.FieldsByQR(QRAlways)) == 0 {
				t.Fatal("no always-shown field")
			}
			// The holder fields are required, so an empty record fails.
			err := cl.Validate(nil)
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("Validate(nil) = %v", err)
			}
			for i := range cl.Fields {
				fl := &cl.Fields[i]
				if f2, ok := cl.Field(fl.Key); !ok || f2 != fl {
					t.Fatalf("Field(%q)", fl.Key)
				}
				for _, v := range []string{"", "x", "2024-01-01", "长期", strings.Repeat("9", 40)} {
					_ = fl.Validate(v)
				}
			}
		}
	})
}

// FuzzValidate feeds arbitrary values to every field of every class of the
// embedded catalogue, alone and inside an otherwise valid record.
func FuzzValidate(f *testing.F) {
	samples := loadSamples(f)
	classes := Default().Classes()
	for ci, cl := range classes {
		for fi := range cl.Fields {
			f.Add(uint8(ci), uint8(fi), samples[cl.Key][cl.Fields[fi].Key])
		}
	}
	for _, tc := range fieldTypeCases {
		f.Add(uint8(0), uint8(0), tc.value)
	}
	f.Fuzz(func(t *testing.T, ci, fi uint8, value string) {
		cl := classes[int(ci)%len(classes)]
		fl := &cl.Fields[int(fi)%len(cl.Fields)]
		err := fl.Validate(value)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != fl.Key || fe.Err == nil || fe.Reason == "" {
				t.Fatalf("%s/%s: malformed error %#v", cl.Key, fl.Key, err)
			}
			if value != "" && errors.Is(err, ErrRequired) {
				t.Fatalf("%s/%s: ErrRequired for a non-empty value", cl.Key, fl.Key)
			}
		} else if value != "" {
			if !utf8.ValidString(value) {
				t.Fatalf("%s/%s: accepted invalid UTF-8 %q", cl.Key, fl.Key, value)
			}
			if fl.MaxLen > 0 && utf8.RuneCountInString(value) > fl.MaxLen {
				t.Fatalf("%s/%s: accepted %d characters, max_len %d", cl.Key, fl.Key, utf8.RuneCountInString(value), fl.MaxLen)
			}
			if strings.TrimSpace(value) != value {
				t.Fatalf("%s/%s: accepted surrounding white space %q", cl.Key, fl.Key, value)
			}
			if fl.Type == TypeEnum && !strings.Contains("\x00"+strings.Join(fl.Values, "\x00")+"\x00", "\x00"+value+"\x00") {
				t.Fatalf("%s/%s: accepted %q outside the enum", cl.Key, fl.Key, value)
			}
		}

		// In a record, a bad field value makes the record bad.
		rec := make(map[string]string, len(cl.Fields))
		for k, v := range samples[cl.Key] {
			rec[k] = v
		}
		rec[fl.Key] = value
		recErr := cl.Validate(rec)
		if err != nil && recErr == nil {
			t.Fatalf("%s/%s: field error %v but the record passes", cl.Key, fl.Key, err)
		}
		checkValidateAt(t, cl, fl, rec, recErr)
		if recErr != nil {
			var ve *ValidationError
			if !errors.As(recErr, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("%s: record error %#v", cl.Key, recErr)
			}
			for _, fe := range ve.Fields {
				if fe.Field != fl.Key {
					t.Fatalf("%s: %q made field %q fail: %v", cl.Key, value, fe.Field, recErr)
				}
			}
		}
	})
}

// checkValidateAt checks ValidateAt on rec against Validate's verdict
// recErr: at issuance, a record that fails Validate fails ValidateAt; one
// that passes it fails only for fl's date after the day of issuance.
func checkValidateAt(t *testing.T, cl *Class, fl *Field, rec map[string]string, recErr error) {
	t.Helper()
	atErr := cl.ValidateAt(rec, fuzzNow)
	if recErr != nil && atErr == nil {
		t.Fatalf("%s/%s: Validate fails (%v) but ValidateAt passes", cl.Key, fl.Key, recErr)
	}
	if recErr == nil && atErr != nil && (!fl.Dates.past() || !errors.Is(atErr, ErrRange)) {
		t.Fatalf("%s/%s: %q passes Validate, but ValidateAt says %v", cl.Key, fl.Key, rec[fl.Key], atErr)
	}
}

// fuzzNow is the instant FuzzValidate issues at.
var fuzzNow = time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC)

// compactCatalogue renders cl as a one-class catalogue file holding only the
// holder fields, the validity field and the first always-shown fields.
func compactCatalogue(t testing.TB, cl *Class) []byte {
	t.Helper()
	keep := map[string]bool{cl.HolderNameField: true, cl.HolderCodeField: true, cl.Validity.Field: true}
	var fields []map[string]any
	for i := range cl.Fields {
		fl := &cl.Fields[i]
		if !keep[fl.Key] && len(fields) >= 4 {
			continue
		}
		m := map[string]any{"key": fl.Key, "name": fl.Label, "type": fl.Type, "qr": fl.QR}
		if fl.Required {
			m["required"] = true
		}
		if fl.MaxLen > 0 {
			m["max_len"] = fl.MaxLen
		}
		if fl.Values != nil {
			m["values"] = fl.Values
		}
		if fl.Pattern != "" {
			m["pattern"] = fl.Pattern
		}
		if fl.Min != nil {
			m["min"] = *fl.Min
		}
		if fl.Max != nil {
			m["max"] = *fl.Max
		}
		if fl.Dates != DateAny {
			m["dates"] = fl.Dates
		}
		fields = append(fields, m)
	}
	validity := map[string]any{"kind": cl.Validity.Kind}
	if cl.Validity.Field != "" {
		validity["field"] = cl.Validity.Field
	}
	if cl.Validity.TermYears != nil {
		validity["term_years"] = cl.Validity.TermYears
	}
	if cl.Validity.LongTermAllowed {
		validity["long_term_allowed"] = true
	}
	doc := map[string]any{"classes": []any{map[string]any{
		"key": cl.Key, "type_code": cl.TypeCode, "name_zh": cl.NameZH, "name_en": cl.NameEN,
		"issuer_kind": cl.IssuerKind, "holder_kind": cl.HolderKind,
		"holder_name_field": cl.HolderNameField, "holder_code_field": cl.HolderCodeField,
		"validity": validity, "max_status_staleness": cl.MaxStatusStaleness.String(),
		"stale_policy": cl.StalePolicy, "pilot": cl.Pilot, "fields": fields,
	}}}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		t.Fatalf("compact %s: %v", cl.Key, err)
	}
	return data
}
