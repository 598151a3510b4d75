package qr

import (
	"errors"
	"testing"

	"elicense/certs/credential"
	"elicense/internal/gm"
)

// TestSignedContent: a core the issuer's key did sign is still refused
// when what the clerk would read is not what its own dates and its class
// allow (QR-16, QR-28).
func TestSignedContent(t *testing.T) {
	f := newFixture(t, "business-license")
	h := f.holding(t, businessClass(t), businessFields(), false)
	const term = 7 // the field number of 营业期限 in the catalogue
	for _, tc := range []struct {
		name  string
		edit  func(c *core)
		field string // "" when the core is accepted
	}{
		{"as issued", func(c *core) {}, ""},
		{"validity carried as the dates say", func(c *core) { c.Fields[term] = "2016-03-08至2046-03-07" }, ""},
		{"validity carried with another end", func(c *core) { c.Fields[term] = "2016-03-08至2047-03-07" }, "term"},
		{"validity carried with another start", func(c *core) { c.Fields[term] = "2016-03-09至2046-03-07" }, "term"},
		{"validity carried as 长期 against an end day", func(c *core) { c.Fields[term] = "2016-03-08至长期" }, "term"},
		{"holder name with a control character", func(c *core) { c.HolderName = "上海浦江示例\u0007科技有限公司" }, "holder name"},
		{"holder name with a trailing space", func(c *core) { c.HolderName += " " }, "holder name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c core
			if err := decodeCanonical("core", h.Core, &c); err != nil {
				t.Fatal(err)
			}
			if c.Fields == nil {
				c.Fields = map[uint16]string{}
			}
			tc.edit(&c)
			h2 := *h
			h2.Core = mustMarshal(c)
			h2.IssuerSig, _ = gm.SignRS(f.issuer, append([]byte(coreContext), h2.Core...))
			text, err := h2.Static()
			if err != nil {
				t.Fatal(err)
			}
			tok, err := Decode(text)
			if err == nil {
				_, err = tok.Verify(VerifyOptions{Keys: f.keys, Now: now})
			}
			var qe *Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.Is(err, credential.ErrBadField) || !errors.As(err, &qe) || qe.Field != tc.field):
				t.Fatalf("got %v, want a bad %s", err, tc.field)
			}
		})
	}
}
