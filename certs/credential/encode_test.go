package credential

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicense/internal/gm"

	"github.com/golang-jwt/jwt/v5"
)

// jwtSigningInput is how Sign built the signing input before it was
// assembled by hand: golang-jwt with encoding/json. It is the oracle for
// appendSigningInput.
func jwtSigningInput(t testing.TB, c *claims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(gm.SigningMethodSM2SM3, c)
	tok.Header["typ"] = TokenType
	tok.Header["kid"] = kid
	s, err := tok.SigningString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkEncoding(t *testing.T, c *claims, kid string) {
	t.Helper()
	want := jwtSigningInput(t, c, kid)
	if got := string(appendSigningInput(nil, c, kid)); got != want {
		t.Fatalf("signing input differs from golang-jwt's\n got %s\nwant %s", decodeParts(got), decodeParts(want))
	}
}

func decodeParts(s string) string {
	var out []string
	for _, p := range strings.Split(s, ".") {
		b, _ := jwt.NewParser().DecodeSegment(p)
		out = append(out, string(b))
	}
	return strings.Join(out, " . ")
}

// TestEncodeMatchesJWT holds the hand-built JWS to golang-jwt's bytes on
// the test vectors' licences.
func TestEncodeMatchesJWT(t *testing.T) {
	vf, keys := loadVectors(t, "testdata/vectors.json")
	n := 0
	for _, vc := range vf.Cases {
		l, err := Verify(vc.Token, VerifyOptions{Keys: keys, Now: vf.Now})
		if err != nil {
			continue
		}
		c, err := toClaims(l)
		if err != nil {
			t.Fatal(err)
		}
		input := vc.Token[:strings.LastIndexByte(vc.Token, '.')]
		if got := string(appendSigningInput(nil, c, vf.Keys[0].KID)); got != input {
			t.Fatalf("%s: re-encoded signing input differs\n got %s\nwant %s", vc.Name, decodeParts(got), decodeParts(input))
		}
		checkEncoding(t, c, vf.Keys[0].KID)
		n++
	}
	if n < 2 {
		t.Fatalf("only %d valid vectors", n)
	}

	// A freshly signed bound licence with a status reference, seal and number.
	f := newFixture(t)
	l := f.license(t, businessFields())
	l.Device = f.key.PublicKey()
	l.Status = &StatusRef{URI: "https://elicense.example/v1/status/amr-1?a=1&b=<2>", Index: 1<<64 - 1}
	l.Seal, l.Number = "seal<&>", "No.1"
	tok := f.sign(t, l)
	c, err := toClaims(l)
	if err != nil {
		t.Fatal(err)
	}
	if want := jwtSigningInput(t, c, testKID); tok[:strings.LastIndexByte(tok, '.')] != want {
		t.Fatalf("Sign's signing input differs from golang-jwt's\n got %s\nwant %s", decodeParts(tok), decodeParts(want))
	}
}

// TestEncodeRandom compares the encoders on random claims whose strings
// hold everything encoding/json escapes: quotes, backslashes, control
// characters, <, >, &, U+2028, U+2029, invalid UTF-8, and Chinese text.
func TestEncodeRandom(t *testing.T) {
	pieces := []string{
		"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "'", "\x00", "\x01", "\b", "\f", "\n", "\r", "\t",
		"\x1f", "\x7f", "\u2028", "\u2029", "\u2027", "\u00e9", "营业执照", "长期", "\U0001F600", "\ufffd",
		"\xff", "\xe4\xb8", "\xc0\x80", "\xed\xa0\x80", "+", "=", "%",
	}
	r := rand.New(rand.NewPCG(7, 11))
	str := func(maybeEmpty bool) string {
		n := r.IntN(8)
		if !maybeEmpty && n == 0 {
			n = 1
		}
		var b strings.Builder
		for range n {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	date := func() *jwt.NumericDate {
		if r.IntN(5) == 0 {
			return nil
		}
		return jwt.NewNumericDate(time.Unix(r.Int64N(1<<34)-1<<33, 0))
	}
	for i := range 5000 {
		c := &claims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: str(true), Subject: str(true), ID: str(true),
				ExpiresAt: date(), NotBefore: date(), IssuedAt: date(),
			},
			Lic: licClaim{
				Class: str(true), TypeCode: str(true), Name: str(true), Number: str(true),
				IssuerName: str(true), IssuedOn: str(true), HolderName: str(true),
				HolderCodeType: HolderCodeType(str(true)), ValidFrom: str(true), ValidUntil: str(true),
				Seal: str(true),
			},
		}
		if r.IntN(10) > 0 {
			c.Lic.Fields = map[string]string{}
			for range r.IntN(40) {
				c.Lic.Fields[str(true)] = str(true)
			}
		}
		if r.IntN(2) == 0 {
			c.Cnf = &cnfClaim{JWK: jwk{Kty: str(true), Crv: str(true), X: str(true), Y: str(true)}}
		}
		if r.IntN(2) == 0 {
			c.Status = &statusClaim{StatusList: StatusRef{URI: str(true), Index: r.Uint64() >> r.IntN(64)}}
		}
		kid := str(false)
		if i%2 == 0 {
			kid = testKID
		}
		checkEncoding(t, c, kid)
	}
}

func TestAppendStringMatchesJSON(t *testing.T) {
	// Every single byte, every rune of the BMP and a sample of the rest.
	var in []string
	for b := range 256 {
		in = append(in, string([]byte{byte(b)}), "x"+string([]byte{byte(b)})+"y")
	}
	for r := rune(0); r <= 0x10ffff; r++ {
		if r > 0xffff && r%97 != 0 && r != 0x10ffff {
			continue
		}
		in = append(in, string(r), "a"+string(r)+"b", "<"+string(r)+string(r))
	}
	// Truncated and invalid sequences next to the escaped ones.
	for _, s := range []string{"\xe2", "\xe2\x80", "\xe2\x80\xa8\xe2", "\xe2\x80\xa9x\xe2\x80", "\xe2\xa8\x80", "\xe2\x80\xa8\xff", "<\xe2\x80\xa8>"} {
		in = append(in, s, "a"+s, s+"b")
	}
	for _, s := range in {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

// TestEncoderKnowsEveryClaim fills every field of the claims, however
// deep, by reflection: a claim added to the structs but not to
// appendPayload makes the encoders differ here, whatever the other tests
// happen to set.
func TestEncoderKnowsEveryClaim(t *testing.T) {
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			n++
			v.SetString("v" + strconv.Itoa(n))
		case reflect.Uint64, reflect.Uint, reflect.Int64, reflect.Int:
			n++
			if v.CanUint() {
				v.SetUint(uint64(n))
			} else {
				v.SetInt(int64(n))
			}
		case reflect.Pointer:
			if v.Type() == reflect.TypeFor[*jwt.NumericDate]() {
				n++
				v.Set(reflect.ValueOf(jwt.NewNumericDate(time.Unix(int64(1_700_000_000+n), 0))))
				return
			}
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
			v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v"))
		case reflect.Slice:
			n++
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			fill(v.Index(0))
		default:
			t.Fatalf("claims hold a %s: teach this test and appendPayload", v.Type())
		}
	}
	var c claims
	fill(reflect.ValueOf(&c).Elem())
	c.Audience = nil // never set by toClaims; appendPayload leaves it out
	checkEncoding(t, &c, testKID)
}

// AppendFieldsJSON is the payload's own encoding of the fields: for every
// valid vector (signed by golang-jwt) and a licence with characters JSON
// escapes, the payload holds "fields": followed by exactly those bytes.
func TestAppendFieldsJSONInPayload(t *testing.T) {
	vf, keys := loadVectors(t, "testdata/vectors.json")
	f := newFixture(t)
	fields := businessFields()
	fields["business_scope"] = "技术服务 <&> \"引号\" \\ 反斜杠"
	tokens := []string{f.sign(t, f.license(t, fields))}
	for _, vc := range vf.Cases {
		tokens = append(tokens, vc.Token)
	}
	n := 0
	for i, tok := range tokens {
		l, err := Verify(tok, VerifyOptions{Keys: keys, Now: vf.Now})
		if i == 0 {
			l, err = Verify(tok, VerifyOptions{Keys: f.keys, Now: during})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err != nil {
			continue
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		want := AppendFieldsJSON([]byte(`"fields":`), l.Fields)
		if bytes.Count(payload, want) != 1 {
			t.Fatalf("payload %s\ndoes not hold %s once", payload, want)
		}
		n++
	}
	if n < 3 {
		t.Fatalf("only %d tokens checked", n)
	}
}
