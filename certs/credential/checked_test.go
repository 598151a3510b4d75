package credential

import (
	"bytes"
	"os"
	"reflect"
	"testing"
	"time"

	"elicense/certs/catalog"
)

// TestSignRevalidatesChangedLicence: Sign skips validation only for a
// licence unchanged since NewLicense checked it. Every change to what
// validate reads, in place or by replacement, must give the error a full
// validation gives.
func TestSignRevalidatesChangedLicence(t *testing.T) {
	f := newFixture(t)
	other, err := catalog.Parse(mustRead(t, "../catalog/classes.json"))
	if err != nil {
		t.Fatal(err)
	}
	day := func(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }
	cases := []struct {
		name   string
		change func(l *License)
		ok     bool // the changed licence is still valid
	}{
		{"unchanged", func(*License) {}, true},
		{"field value in place", func(l *License) { l.Fields["uscc"] = "91110000600037341X" }, false},
		{"holder field in place", func(l *License) { l.Fields["name"] = "另一家公司" }, false},
		{"field deleted", func(l *License) { delete(l.Fields, "legal_rep") }, false},
		{"unknown field added", func(l *License) { l.Fields["colour"] = "red" }, false},
		{"fields replaced", func(l *License) { l.Fields = map[string]string{"name": l.HolderName} }, false},
		{"fields nil", func(l *License) { l.Fields = nil }, false},
		{"term changed", func(l *License) { l.Fields["term"] = "2016-03-08至长期" }, false},
		{"term and dates changed together", func(l *License) {
			l.Fields["term"] = "2016-03-08至长期"
			l.ValidUntil = time.Time{}
		}, true},
		{"holder name", func(l *License) { l.HolderName = "x" }, false},
		{"holder code", func(l *License) { l.HolderCode = testIssuer }, false},
		{"holder code type", func(l *License) { l.HolderCodeType = HolderResidentID }, false},
		{"issuer code", func(l *License) { l.IssuerCode = "91110000600037341L" }, false},
		{"issuer name", func(l *License) { l.IssuerName = "" }, false},
		{"identifier", func(l *License) { l.ID = "x" }, false},
		{"type code", func(l *License) { l.TypeCode = "x" }, false},
		{"name", func(l *License) { l.Name = "x" }, false},
		{"valid until", func(l *License) { l.ValidUntil = day(l.ValidUntil, 1) }, false},
		{"valid from", func(l *License) { l.ValidFrom = day(l.ValidFrom, -1) }, false},
		{"issued on", func(l *License) { l.IssuedOn = time.Time{} }, false},
		{"same instant, other zone", func(l *License) { l.ValidFrom = l.ValidFrom.UTC() }, true},
		{"class", func(l *License) { l.Class = "marriage-certificate" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, cat := range []*catalog.Catalog{nil, other} {
				l := f.license(t, businessFields())
				tc.change(l)
				fresh := *l
				fresh.checked = nil
				fresh.Fields = cloneOrNil(l.Fields)
				want, wantErr := Sign(&fresh, SignOptions{Catalog: cat, Signer: f.key, KeyID: testKID, Now: fixedNow})
				got, err := Sign(l, SignOptions{Catalog: cat, Signer: f.key, KeyID: testKID, Now: fixedNow})
				if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
					t.Fatalf("Sign after change: %v; validating afresh: %v", err, wantErr)
				}
				if (err == nil) != tc.ok {
					t.Fatalf("Sign after change: %v; want ok=%v", err, tc.ok)
				}
				if err == nil && signingInput(got) != signingInput(want) {
					t.Fatal("signed payloads differ")
				}
			}
		})
	}
}

func fixedNow() time.Time { return during }

func signingInput(tok string) string { return tok[:bytes.LastIndexByte([]byte(tok), '.')] }

func cloneOrNil(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckedCoversLicense makes a field added to License a decision:
// either validate reads it, and NewLicense's record of what it checked
// (checkedMeta) must hold it so that Sign sees a change, or it is listed
// here as one validate does not read.
func TestCheckedCoversLicense(t *testing.T) {
	notValidated := map[string]bool{
		"Class":    true, // compared as the class itself (validated.cl)
		"Fields":   true, // compared value by value (validated.fields)
		"Number":   true,
		"Device":   true,
		"Status":   true,
		"Seal":     true,
		"SignedAt": true,
	}
	meta := reflect.TypeFor[checkedMeta]()
	lic := reflect.TypeFor[License]()
	for i := range lic.NumField() {
		f := lic.Field(i)
		if !f.IsExported() || notValidated[f.Name] {
			continue
		}
		if mf, ok := meta.FieldByName(f.Name); !ok || mf.Type != f.Type {
			t.Errorf("License.%s is neither in checkedMeta (with its type) nor listed as not validated", f.Name)
		}
	}
}
