package qr

import (
	"testing"
	"time"

	"elicense/certs/catalog"
)

// TestClaims reads back what a static token and a presentation were built
// with, without verifying either.
func TestClaims(t *testing.T) {
	f := newFixture(t, "business-license")
	cl, _ := catalog.Default().Lookup("business-license")
	static, bound := f.holding(t, cl, businessFields(), false), f.holding(t, cl, businessFields(), true)
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name  string
		text  func() (string, error)
		bound bool
	}{
		{"static", func() (string, error) { return static.Static("domicile") }, false},
		{"presentation", func() (string, error) { return bound.Present(f.device, now, "domicile") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := tc.text()
			if err != nil {
				t.Fatal(err)
			}
			tok, err := Decode(text)
			if err != nil {
				t.Fatal(err)
			}
			c := tok.Claims(nil)
			if c.Version != 2 || c.Bound != tc.bound || c.Class != "business-license" || c.ClassName != "营业执照" ||
				c.HolderName == "" || c.StatusList == "" || c.SignedAt.IsZero() || c.KeyID != tok.KeyID() {
				t.Fatalf("claims %+v", c)
			}
			if tc.bound != !c.PresentedAt.IsZero() || tc.bound != (c.DeviceKey != "") {
				t.Fatalf("presentation time %v, device key %q", c.PresentedAt, c.DeviceKey)
			}
			var address, always bool
			for i, fl := range c.Fields {
				if i > 0 && fl.Number < c.Fields[i-1].Number {
					t.Fatal("fields out of order")
				}
				address = address || fl.Key == "domicile" && fl.Disclosed && fl.Label != ""
				always = always || !fl.Disclosed && fl.Key != ""
			}
			if !address || !always {
				t.Fatalf("fields %+v", c.Fields)
			}
		})
	}
}
