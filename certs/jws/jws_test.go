package jws

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"elicense/internal/gm"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

var sig64 = base64.RawURLEncoding.EncodeToString(make([]byte, gm.SignatureSize))

// tok builds a compact JWS from a header's JSON text, a payload and a
// signature part.
func tok(header, payload, sig string) string { return b64(header) + "." + b64(payload) + "." + sig }

const good = `{"alg":"SM2SM3","typ":"x+jwt","kid":"0123456789abcdef"}`

func TestParse(t *testing.T) {
	want := Expect{Typ: "x+jwt", RequireKid: true}
	tests := []struct {
		name   string
		token  string
		expect Expect
		reason error
		part   string
	}{
		{"good", tok(good, `{"a":1}`, sig64), want, nil, ""},
		{"unknown header member ignored", tok(`{"alg":"SM2SM3","typ":"x+jwt","kid":"k","zip":"x"}`, `{}`, sig64), want, nil, ""},
		{"two parts", b64(good) + "." + b64("{}"), want, ErrMalformed, "token"},
		{"four parts", tok(good, "{}", sig64) + ".x", want, ErrMalformed, "token"},
		{"empty", "", want, ErrMalformed, "token"},
		{"padded header", base64.URLEncoding.EncodeToString([]byte(good+" ")) + "." + b64("{}") + "." + sig64, want, ErrMalformed, "header"},
		{"std base64 header", strings.ReplaceAll(b64(`{"alg":"SM2SM3","typ":"x+jwt","kid":"k??>"}`), "_", "/") + "." + b64("{}") + "." + sig64, want, ErrMalformed, "header"},
		{"header not JSON", tok(`alg`, "{}", sig64), want, ErrMalformed, "header"},
		{"header an array", tok(`["SM2SM3"]`, "{}", sig64), want, ErrMalformed, "header"},
		{"duplicate alg", tok(`{"alg":"none","alg":"SM2SM3","typ":"x+jwt","kid":"k"}`, "{}", sig64), want, ErrMalformed, "header"},
		{"invalid UTF-8 in header", tok("{\"alg\":\"SM2SM3\",\"typ\":\"x+jwt\",\"kid\":\"\xff\"}", "{}", sig64), want, ErrMalformed, "header"},
		{"crit", tok(`{"alg":"SM2SM3","typ":"x+jwt","kid":"k","crit":["exp"]}`, "{}", sig64), want, ErrCritical, "crit"},
		{"crit null", tok(`{"alg":"SM2SM3","typ":"x+jwt","kid":"k","crit":null}`, "{}", sig64), want, ErrCritical, "crit"},
		{"crit empty", tok(`{"alg":"SM2SM3","typ":"x+jwt","kid":"k","crit":[]}`, "{}", sig64), want, ErrCritical, "crit"},
		{"alg none", tok(`{"alg":"none","typ":"x+jwt","kid":"k"}`, "{}", sig64), want, ErrAlgorithm, "alg"},
		{"alg ES256", tok(`{"alg":"ES256","typ":"x+jwt","kid":"k"}`, "{}", sig64), want, ErrAlgorithm, "alg"},
		{"alg case", tok(`{"alg":"sm2sm3","typ":"x+jwt","kid":"k"}`, "{}", sig64), want, ErrAlgorithm, "alg"},
		{"no typ", tok(`{"alg":"SM2SM3","kid":"k"}`, "{}", sig64), want, ErrType, "typ"},
		{"other typ", tok(`{"alg":"SM2SM3","typ":"JWT","kid":"k"}`, "{}", sig64), want, ErrType, "typ"},
		{"typ not a string", tok(`{"alg":"SM2SM3","typ":1,"kid":"k"}`, "{}", sig64), want, ErrMalformed, "header"},
		{"no kid", tok(`{"alg":"SM2SM3","typ":"x+jwt"}`, "{}", sig64), want, ErrMalformed, "kid"},
		{"empty kid", tok(`{"alg":"SM2SM3","typ":"x+jwt","kid":""}`, "{}", sig64), want, ErrMalformed, "kid"},
		{"no kid, none needed", tok(`{"alg":"SM2SM3","typ":"x+jwt"}`, "{}", sig64), Expect{Typ: "x+jwt"}, nil, ""},
		{"x5c not allowed", tok(`{"alg":"SM2SM3","typ":"x+jwt","kid":"k","x5c":["AA=="]}`, "{}", sig64), want, ErrMalformed, "x5c"},
		{"x5c bad base64", tok(`{"alg":"SM2SM3","typ":"x+jwt","x5c":["A_=="]}`, "{}", sig64), Expect{Typ: "x+jwt", AllowX5c: true}, ErrMalformed, "x5c"},
		{"payload padded", b64(good) + "." + base64.URLEncoding.EncodeToString([]byte("{}")) + "." + sig64, want, ErrMalformed, "payload"},
		{"payload {}", b64(good) + ".e30." + sig64, want, nil, ""},
		{"payload trailing bits", b64(good) + ".e31." + sig64, want, ErrMalformed, "payload"},
		{"signature short", tok(good, "{}", b64("short")), want, ErrSignatureSize, "signature"},
		{"signature long", tok(good, "{}", base64.RawURLEncoding.EncodeToString(make([]byte, 65))), want, ErrSignatureSize, "signature"},
		{"signature empty", tok(good, "{}", ""), want, ErrSignatureSize, "signature"},
		{"signature bad base64", tok(good, "{}", sig64[:len(sig64)-1]+"!"), want, ErrMalformed, "signature"},
		{"line break in the signature", tok(good, "{}", sig64[:10]+"\n"+sig64[10:]), want, ErrMalformed, "signature"},
		{"carriage return in the payload", b64(good) + "." + b64(`{"a":1}`)[:2] + "\r" + b64(`{"a":1}`)[2:] + "." + sig64, want, ErrMalformed, "payload"},
		{"line break in the header", b64(good)[:4] + "\n" + b64(good)[4:] + "." + b64("{}") + "." + sig64, want, ErrMalformed, "header"},
		{"too long", strings.Repeat("a", MaxLen+1), want, ErrMalformed, "token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.token, tc.expect)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if string(got.SigningInput)+"."+base64.RawURLEncoding.EncodeToString(got.Signature) != tc.token {
					t.Errorf("signing input %q does not rebuild the token", got.SigningInput)
				}
				return
			}
			var e *Error
			if !errors.Is(err, tc.reason) || !errors.As(err, &e) || e.Part != tc.part {
				t.Fatalf("Parse = %v, want %v in part %q", err, tc.reason, tc.part)
			}
		})
	}
}

func TestX5c(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	h := `{"alg":"SM2SM3","typ":"t","x5c":["` + base64.StdEncoding.EncodeToString(der) + `"]}`
	got, err := Parse(tok(h, "{}", sig64), Expect{Typ: "t", AllowX5c: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Header.X5c) != 1 || string(got.Header.X5c[0]) != string(der) {
		t.Fatalf("x5c = %x", got.Header.X5c)
	}
}

// TestGolangJWT reads a token golang-jwt signed with the SM2SM3 method and
// checks the signature over the signing input Parse returns.
func TestGolangJWT(t *testing.T) {
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	jt := jwt.NewWithClaims(gm.SigningMethodSM2SM3, jwt.MapClaims{"sub": "x", "n": 1})
	jt.Header["typ"] = "x+jwt"
	jt.Header["kid"] = "0123456789abcdef"
	s, err := jt.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(s, Expect{Typ: "x+jwt", RequireKid: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Kid != "0123456789abcdef" || string(got.Payload) != `{"n":1,"sub":"x"}` {
		t.Fatalf("got %+v %s", got.Header, got.Payload)
	}
	if err := gm.VerifyRS(key.PublicKey(), got.SigningInput, got.Signature); err != nil {
		t.Fatalf("signature over the signing input: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(tok(good, `{"a":1}`, sig64))
	f.Add(tok(`{"alg":"SM2SM3","typ":"x+jwt","kid":"k","crit":["b64"]}`, "{}", sig64))
	f.Add(tok(`{"alg":"SM2SM3","typ":"x+jwt","x5c":["AA=="]}`, "{}", sig64))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range []Expect{{Typ: "x+jwt", RequireKid: true}, {Typ: "x+jwt", AllowX5c: true}} {
			got, err := Parse(s, e)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %v is not an *Error", err)
				}
				continue
			}
			if got.Header.Alg != gm.AlgSM2SM3 || got.Header.Typ != "x+jwt" || len(got.Signature) != gm.SignatureSize {
				t.Fatalf("accepted %+v", got.Header)
			}
			if !strings.HasPrefix(s, string(got.SigningInput)+".") {
				t.Fatalf("signing input is not the token's prefix")
			}
			var members map[string]jsontext.Value
			h64, _, _ := strings.Cut(s, ".")
			hb, _ := base64.RawURLEncoding.DecodeString(h64)
			if err := jsonv2.Unmarshal(hb, &members); err != nil {
				t.Fatalf("accepted a header that is not a JSON object: %v", err)
			}
			if _, ok := members["crit"]; ok {
				t.Fatalf("accepted a header with crit: %s", hb)
			}
		}
	})
}

// BenchmarkParse takes apart a token the size of a credential.
func BenchmarkParse(b *testing.B) {
	s := tok(good, strings.Repeat(`{"claim":"value"},`, 60), sig64)
	want := Expect{Typ: "x+jwt", RequireKid: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s, want); err != nil {
			b.Fatal(err)
		}
	}
}
