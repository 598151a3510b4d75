package trust

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/agencycert"
	"elicense/internal/gm"
)

// FuzzVerify feeds arbitrary input to Verify: no panic, every error typed,
// a bundle returned only with no error or a stale error, and a returned
// bundle resolves its own keys. With signed set, the input is a payload
// that the fuzzer signs with the real signer, to reach the content checks
// past the signature.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	tok := fx.sign(f, fx.bundle(3))
	payload, err := json.Marshal(fx.bundle(3))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok, false)
	h := `{"alg":"SM2SM3","typ":"` + TokenType + `","x5c":["` + base64.StdEncoding.EncodeToString(fx.ledgerDER) + `"],"crit":["exp"],"exp":1}`
	f.Add(signParts(f, fx.ledgerKey, base64.RawURLEncoding.EncodeToString([]byte(h)), strings.Split(tok, ".")[1]), false)
	f.Add(tok[:len(tok)/2], false)
	f.Add("eyJhbGciOiJTTTJTTTMiLCJ0eXAiOiJlbGljZW5zZS10cnVzdCtqd3QiLCJ4NWMiOltdfQ.e30.AA", false)
	f.Add("a.b.c", false)
	f.Add(string(payload), true)
	f.Add(`{"version":1,"seq":1}`, true)
	withReceipt := fx.bundle(3)
	rder := fx.receiptCert(f, newKey(f), agencycert.RoleReceipt, gm.KeyUsageKeyEncipherment, t0.Add(-time.Hour), t0.Add(48*time.Hour))
	withReceipt.ReceiptKey = &Key{KID: gm.KeyIDString(rder), Cert: rder}
	withReceipt.BundleSigner = fx.chain()
	if p, err := json.Marshal(withReceipt); err == nil {
		f.Add(string(p), true)
	}
	typed := []error{ErrMalformed, ErrBadSignature, ErrUntrustedSigner, ErrUntrustedKey, ErrKeyIDMismatch, ErrUnknownClass, ErrRollback, ErrStale}
	f.Fuzz(func(t *testing.T, in string, signed bool) {
		token := in
		if signed {
			token = forge(t, fx.ledgerKey, fx.chain(), []byte(in))
		}
		b, err := Verify(token, fx.opts())
		if err != nil {
			ok := false
			for _, e := range typed {
				ok = ok || errors.Is(err, e)
			}
			if !ok {
				t.Fatalf("untyped error %v", err)
			}
		}
		if b == nil {
			if err == nil {
				t.Fatal("no bundle and no error")
			}
			return
		}
		if err != nil && !errors.Is(err, ErrStale) {
			t.Fatalf("bundle returned with %v", err)
		}
		for _, a := range b.Agencies {
			for _, k := range a.Keys {
				if len(b.Resolver().IssuerKeys(k.KID)) == 0 {
					t.Fatalf("verified key %s does not resolve", k.KID)
				}
			}
		}
		if _, _, ok := b.ReceiptPublicKey(time.Now()); ok && b.ReceiptKey == nil {
			t.Fatalf("receipt_key present %v, ReceiptPublicKey %v", b.ReceiptKey != nil, ok)
		}
		for _, l := range b.StatusLists {
			if _, ok := b.StatusList(l.ID); !ok {
				t.Fatalf("list %s missing", l.ID)
			}
		}
	})
}
