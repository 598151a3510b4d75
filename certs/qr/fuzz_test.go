package qr

import (
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"elicense/internal/gm"
)

func TestCredentialDisclosureAndHoldingJSON(t *testing.T) {
	f := newFixture(t, "business-license")
	h := f.holding(t, businessClass(t), businessFields(), true)
	// A wallet stores the holding as JSON and shows it later.
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back Holding
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	text, err := back.Present(f.device, now, DiscloseCredential, "business_scope")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tok.Verify(VerifyOptions{Keys: f.keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.CredentialDigest != h.Credential || len(res.CredentialDigest) != 64 {
		t.Fatalf("credential digest %q, want %q", res.CredentialDigest, h.Credential)
	}
	if _, err := hex.DecodeString(res.CredentialDigest); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecode feeds arbitrary text to the decoder and verifier: they must
// return an error or a result, never panic, and a token that decodes must
// re-encode to a payload that decodes to the same token.
func FuzzDecode(f *testing.F) {
	fx := newFixture(f, "business-license")
	h := fx.holding(f, businessClass(f), businessFields(), true)
	good, err := h.Present(fx.device, now, "domicile")
	if err != nil {
		f.Fatal(err)
	}
	static, err := fx.holding(f, businessClass(f), businessFields(), false).Static()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, static, Prefix, Prefix + "00", "EL3:AB", PrefixV1 + "00", "", good[:len(good)/2]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tok, err := Decode(text)
		if err != nil {
			return
		}
		again, err := Decode(encodeText(prefixOf(tok.version), payloadOf(tok.version, tok.env)))
		if err != nil || again.Digest() != tok.Digest() {
			t.Fatalf("decoded token does not survive re-encoding: %v", err)
		}
		_, _ = tok.Verify(VerifyOptions{Keys: fx.keys, Now: now})
	})
}

func BenchmarkDecodeVerify(b *testing.B) {
	fx := newFixture(b, "business-license")
	text, err := fx.holding(b, businessClass(b), businessFields(), true).Present(fx.device, now)
	if err != nil {
		b.Fatal(err)
	}
	opts := VerifyOptions{Keys: fx.keys, Now: now.Add(time.Second)}
	b.ReportAllocs()
	for b.Loop() {
		tok, err := Decode(text)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tok.Verify(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTwoVerifies is the floor BenchmarkDecodeVerify is held to: the
// two bare SM2 verifications a presentation needs.
func BenchmarkTwoVerifies(b *testing.B) {
	k, _ := gm.GenerateKey()
	msg := make([]byte, 300)
	sig, _ := gm.SignRS(k, msg)
	b.ReportAllocs()
	for b.Loop() {
		for range 2 {
			if err := gm.VerifyRS(k.PublicKey(), msg, sig); err != nil {
				b.Fatal(err)
			}
		}
	}
}
