package ident

import (
	"errors"
	"testing"
)

// seedFuzz adds the vectors of one kind and a few hostile strings.
func seedFuzz(f *testing.F, kind string) {
	for _, v := range loadVectors(f) {
		if v.Kind == kind {
			f.Add(v.Value)
		}
	}
	for _, s := range []string{"", "\xff", "证照", "..........", "x"} {
		f.Add(s)
	}
}

// fuzzValidator checks that validate never panics, returns a well-formed
// *Error, and agrees with the check-character function on success.
func fuzzValidator(t *testing.T, s string, validate func(string) error, check func(string) (byte, error), n int) {
	err := validate(s)
	if err != nil {
		checkWellFormed(t, err, s)
		return
	}
	if len(s) < n+1 {
		t.Fatalf("accepted %q, shorter than %d bytes", s, n+1)
	}
	c, cerr := check(s[:n])
	if cerr != nil || c != s[len(s)-1] {
		t.Fatalf("accepted %q but check(%q) = %q, %v", s, s[:n], c, cerr)
	}
}

func FuzzValidateUSCC(f *testing.F) {
	seedFuzz(f, "uscc")
	f.Fuzz(func(t *testing.T, s string) {
		fuzzValidator(t, s, ValidateUSCC, USCCCheckChar, 17)
		if ValidateUSCC(s) == nil {
			if err := ValidateOrgCode(s[8:17]); err != nil {
				t.Fatalf("accepted %q whose organization code fails: %v", s, err)
			}
		}
	})
}

func FuzzValidateResidentID(f *testing.F) {
	seedFuzz(f, "resident-id")
	f.Fuzz(func(t *testing.T, s string) {
		fuzzValidator(t, s, ValidateResidentID, ResidentIDCheckChar, 17)
	})
}

func FuzzValidateOrgCode(f *testing.F) {
	seedFuzz(f, "org-code")
	f.Fuzz(func(t *testing.T, s string) {
		fuzzValidator(t, s, ValidateOrgCode, OrgCodeCheckChar, 8)
	})
}

func FuzzParseLicenseID(f *testing.F) {
	seedFuzz(f, "license-id")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseLicenseID(s)
		if err != nil {
			checkWellFormed(t, err, s)
			if id != (LicenseID{}) {
				t.Fatalf("non-zero id %+v with error %v", id, err)
			}
			if !errors.Is(ValidateLicenseID(s), errors.Unwrap(err)) {
				t.Fatal("ValidateLicenseID disagrees with ParseLicenseID")
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("ParseLicenseID(%q).String() = %q", s, got)
		}
		if id.IssuerKind() == IssuerDivision {
			// Read, never issued: Validate (what we issue) refuses it.
			if id.Validate() == nil {
				t.Fatalf("%q: Validate accepts a division-code issuer", s)
			}
			return
		}
		if err := id.Validate(); err != nil {
			t.Fatalf("parsed id does not validate: %v", err)
		}
		if next, err := id.NextVersion(); err == nil {
			if _, err := ParseLicenseID(next.String()); err != nil || next.Version != id.Version+1 {
				t.Fatalf("NextVersion of %q: %v", s, err)
			}
		} else if id.Version != maxVersion {
			t.Fatalf("NextVersion of %q: %v", s, err)
		}
	})
}
