package qr

import (
	"bytes"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/ledger/tlog"
)

// TestUndisclosedValuesCannotBeRecovered: what a counter receives (the
// decoded bytes of the QR text) contains no undisclosed optional value,
// not even its field name, and the commitment is salted, so hashing a
// guessed value without the 16-byte salt matches nothing in the token.
func TestUndisclosedValuesCannotBeRecovered(t *testing.T) {
	all := samples(t)
	for _, cl := range catalog.Default().Classes() {
		t.Run(cl.Key, func(t *testing.T) {
			f := newFixture(t, cl.Key)
			fields := all[cl.Key]
			h := f.holding(t, cl, fields, true)
			if len(h.Optional) == 0 {
				t.Skip("no optional fields")
			}
			shown := h.Optional[0].Key
			text, err := h.Present(f.device, time.Now(), shown)
			if err != nil {
				t.Fatal(err)
			}
			payload, _, err := decodeText(text)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := Decode(text)
			if err != nil {
				t.Fatal(err)
			}
			// Structurally, the only value outside the core's always-shown
			// fields is the one disclosure.
			if len(tok.body.Disclosures) != 1 || tok.body.Disclosures[0].Value != h.Optional[0].Value {
				t.Fatalf("token discloses %d values", len(tok.body.Disclosures))
			}
			for n := range tok.core.Fields {
				if f, _ := classField(cl, n); f.QR != catalog.QRAlways {
					t.Errorf("core carries non-always field %s", f.Key)
				}
			}
			// Byte for byte, everything the token carries, decompressed and
			// unwrapped, holds no undisclosed value (values of 4 bytes and
			// more: shorter ones turn up in any binary by chance).
			seen := bytes.Join([][]byte{payload, tok.env.Body, tok.body.Core}, nil)
			for _, o := range h.Optional[1:] {
				if o.Value == fields[shown] || len(o.Value) < 4 {
					continue
				}
				if bytes.Contains(seen, []byte(o.Value)) || bytes.Contains(seen, []byte(o.Key)) {
					t.Errorf("undisclosed field %s (%q) is readable in the token", o.Key, o.Value)
				}
				// A guess of the right value without the salt hashes to
				// a leaf that is nowhere in the token.
				guess := tlog.SM3.HashLeaf(mustMarshal(leafData{Field: o.Field, Salt: make([]byte, SaltSize), Value: o.Value}))
				if bytes.Contains(seen, guess[:8]) {
					t.Errorf("an unsalted guess of %s matches the token", o.Key)
				}
			}
			if !bytes.Contains(seen, []byte(h.Optional[0].Value)) {
				t.Errorf("the disclosed field %s is missing", shown)
			}
		})
	}
}
