package receipt

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzParseBatch: no panic; an error is an *Error; a batch parsed is
// valid and encodes back to a batch that parses to the same.
func FuzzParseBatch(f *testing.F) {
	k := key(f)
	r, err := New(k.PublicKey(), time.Unix(1772350000, 0), "VALID", testLicence, device(f))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(Batch{Receipts: []Receipt{r}})
	f.Add(good)
	f.Add([]byte(`{"receipts":[]}`))
	f.Add([]byte(`{"receipts":[{"id":"AAECAwQFBgcICQoLDA0ODw","at":1,"verdict":"VALID","licence":"AA"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ParseBatch(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := ParseBatch(again)
		if err != nil || len(b2.Receipts) != len(b.Receipts) {
			t.Fatalf("re-encoded batch: %v", err)
		}
		for i := range b.Receipts {
			if b.Receipts[i] != b2.Receipts[i] {
				t.Fatalf("receipt %d changed", i)
			}
		}
	})
}

// FuzzParsePlaintext: no panic; a plaintext parsed marshals back to itself.
func FuzzParsePlaintext(f *testing.F) {
	f.Add([]byte(plaintextPrefix + "\x00" + testLicence + "\x00"))
	f.Add(append([]byte(plaintextPrefix+"\x00"+testLicence+"\x00"), device(f)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := parsePlaintext(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := l.marshal()
		if err != nil || string(out) != string(in) {
			t.Fatalf("round trip: %q, %v", out, err)
		}
	})
}
