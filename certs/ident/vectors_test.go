package ident

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type vector struct {
	Kind   string `json:"kind"`
	Value  string `json:"value"`
	Want   string `json:"want"`
	Pos    *int   `json:"pos"`
	Issuer string `json:"issuer"`
	Source string `json:"source"`
}

var sentinels = map[string]error{
	"length":  ErrLength,
	"charset": ErrCharset,
	"check":   ErrCheck,
	"date":    ErrDate,
	"format":  ErrFormat,
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

func TestVectors(t *testing.T) {
	kinds := map[string]int{}
	for _, v := range loadVectors(t) {
		kinds[v.Kind]++
		t.Run(v.Kind+"/"+v.Value, func(t *testing.T) {
			if v.Want != "ok" && sentinels[v.Want] == nil {
				t.Fatalf("bad want %q", v.Want)
			}
			var err error
			switch v.Kind {
			case "uscc":
				err = ValidateUSCC(v.Value)
				if err == nil {
					c, cerr := USCCCheckChar(v.Value[:17])
					if cerr != nil || c != v.Value[17] {
						t.Errorf("USCCCheckChar(%q) = %q, %v; want %q", v.Value[:17], c, cerr, v.Value[17])
					}
				}
			case "resident-id":
				err = ValidateResidentID(v.Value)
				if err == nil {
					c, cerr := ResidentIDCheckChar(v.Value[:17])
					if cerr != nil || c != v.Value[17] {
						t.Errorf("ResidentIDCheckChar(%q) = %q, %v; want %q", v.Value[:17], c, cerr, v.Value[17])
					}
				}
			case "org-code":
				err = ValidateOrgCode(v.Value)
				if err == nil {
					c, cerr := OrgCodeCheckChar(v.Value[:8])
					if last := v.Value[len(v.Value)-1]; cerr != nil || c != last {
						t.Errorf("OrgCodeCheckChar(%q) = %q, %v; want %q", v.Value[:8], c, cerr, last)
					}
				}
			case "license-id":
				err = checkLicenseIDVector(t, v.Value, v.Issuer)
			case "mod37-36":
				body, last := v.Value[:len(v.Value)-1], v.Value[len(v.Value)-1]
				c, cerr := Mod3736Check(body)
				if cerr != nil {
					t.Fatalf("Mod3736Check(%q): %v", body, cerr)
				}
				if (c == last) != (v.Want == "ok") {
					t.Errorf("Mod3736Check(%q) = %q; value ends in %q, want %s", body, c, last, v.Want)
				}
				return
			default:
				t.Fatalf("unknown kind %q", v.Kind)
			}
			checkErr(t, err, v.Kind, v.Value, v.Want, v.Pos)
		})
	}
	for _, k := range []string{"uscc", "resident-id", "org-code", "license-id", "mod37-36"} {
		if kinds[k] == 0 {
			t.Errorf("no vectors of kind %q", k)
		}
	}
}

// checkErr checks err against the expectation of a vector.
func checkErr(t *testing.T, err error, kind, value, want string, pos *int) {
	t.Helper()
	if want == "ok" {
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got nil, want %s", want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T (%v), want *Error", err, err)
	}
	if !errors.Is(err, sentinels[want]) {
		t.Errorf("got %v (sentinel %v), want %s", err, e.Err, want)
	}
	if e.Kind != kind || e.Value != value {
		t.Errorf("Kind, Value = %q, %q; want %q, %q", e.Kind, e.Value, kind, value)
	}
	if pos != nil && e.Pos != *pos {
		t.Errorf("Pos = %d, want %d (%v)", e.Pos, *pos, err)
	}
	checkWellFormed(t, err, value)
}

// checkWellFormed checks what every error of the package must satisfy.
func checkWellFormed(t testing.TB, err error, value string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T (%v), want *Error", err, err)
	}
	n := 0
	for range e.Value {
		n++
	}
	if e.Pos < -1 || e.Pos > n {
		t.Errorf("Pos %d out of range for %d characters", e.Pos, n)
	}
	found := false
	for _, s := range sentinels {
		if e.Err == s {
			found = true
		}
	}
	if !found {
		t.Errorf("Err = %v, not a sentinel", e.Err)
	}
	if e.Reason == "" {
		t.Error("empty Reason")
	}
	msg := err.Error()
	for i := 0; i < len(msg); i++ {
		if msg[i] >= 0x80 || (msg[i] < 0x20) {
			t.Errorf("message has non-ASCII or control byte %#x: %q", msg[i], msg)
			break
		}
	}
	if e.Value != value {
		t.Errorf("Value = %q, want %q", e.Value, value)
	}
	if !strings.HasPrefix(msg, e.Kind+" ") {
		t.Errorf("message %q does not start with the kind", msg)
	}
}

// checkLicenseIDVector parses a license-id vector and checks what the
// parse gives against the other readers; it returns the parse's error.
func checkLicenseIDVector(t *testing.T, value, issuer string) error {
	t.Helper()
	id, err := ParseLicenseID(value)
	if verr := ValidateLicenseID(value); (verr == nil) != (err == nil) {
		t.Errorf("ValidateLicenseID and ParseLicenseID disagree: %v, %v", verr, err)
	}
	if err != nil {
		return err
	}
	if got := id.String(); got != value {
		t.Errorf("String() = %q, want the input", got)
	}
	if issuer != "" && string(id.IssuerKind()) != issuer {
		t.Errorf("IssuerKind() = %s, want %s", id.IssuerKind(), issuer)
	}
	// Validate is the check for what we issue: a USCC issuer only.
	verr := id.Validate()
	if id.IssuerKind() == IssuerUSCC && verr != nil {
		t.Errorf("Validate() = %v", verr)
	}
	if id.IssuerKind() == IssuerDivision && !errors.Is(verr, ErrLength) {
		t.Errorf("Validate() of a division-code identifier = %v, want the USCC length error", verr)
	}
	return nil
}
