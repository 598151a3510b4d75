package credential

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/internal/chinatime"
	"elicense/internal/gm"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer = "11100000MB0341032Y" // a real agency code, from certs/ident vectors
	testHolder = "91110000600037341L"
	testKID    = "0011223344556677"
)

type fixture struct {
	key  *gm.PrivateKey
	keys KeySet
	cl   *catalog.Class
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cl, ok := catalog.Default().Lookup("business-license")
	if !ok {
		t.Fatal("no business-license class")
	}
	return &fixture{key: k, cl: cl, keys: KeySet{testKID: {{
		Public: k.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"},
	}}}}
}

func businessFields() map[string]string {
	return map[string]string{
		"name":                   "上海浦江示例科技有限公司",
		"uscc":                   testHolder,
		"entity_type":            "有限责任公司(自然人投资或控股)",
		"legal_rep":              "张三",
		"registered_capital":     "100万元人民币",
		"established":            "2016-03-08",
		"term":                   "2016-03-08至2046-03-07",
		"domicile":               "上海市浦东新区世纪大道100号",
		"business_scope":         "软件开发；信息技术咨询服务。",
		"registration_authority": "上海市浦东新区市场监督管理局",
		"approval_date":          "2024-05-20",
	}
}

func (f *fixture) license(t testing.TB, fields map[string]string) *License {
	t.Helper()
	id := ident.LicenseID{TypeCode: f.cl.TypeCode, IssuerCode: testIssuer, Serial: "2024000001", Version: 1}
	l, err := NewLicense(f.cl, fields, Issuance{
		ID: id.String(), IssuerName: "上海市市场监督管理局", IssuerCode: testIssuer,
		IssuedOn: time.Date(2024, 5, 20, 0, 0, 0, 0, chinatime.Zone),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) sign(t testing.TB, l *License) string {
	t.Helper()
	tok, err := Sign(l, SignOptions{Signer: f.key, KeyID: testKID})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var during = time.Date(2025, 1, 1, 12, 0, 0, 0, chinatime.Zone)

func TestSignVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	dev, _ := gm.GenerateKey()
	l := f.license(t, businessFields())
	l.Device = dev.PublicKey()
	l.Status = &StatusRef{URI: "https://elicense.example/v1/status/amr-1", Index: 4711}
	tok := f.sign(t, l)
	got, err := Verify(tok, VerifyOptions{Keys: f.keys, Now: during})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != l.ID || got.HolderName != "上海浦江示例科技有限公司" || got.HolderCodeType != HolderUSCC ||
		got.Fields["legal_rep"] != "张三" || !got.Device.Equal(dev.PublicKey()) || got.Status.Index != 4711 ||
		dateString(got.ValidUntil) != "2046-03-07" || dateString(got.ValidFrom) != "2016-03-08" {
		t.Fatalf("round trip changed the licence: %+v", got)
	}
}

func TestLongTerm(t *testing.T) {
	f := newFixture(t)
	fields := businessFields()
	fields["term"] = "2016-03-08至长期"
	l := f.license(t, fields)
	if !l.LongTermValid() {
		t.Fatal("长期 term did not give an open-ended licence")
	}
	got, err := Verify(f.sign(t, l), VerifyOptions{Keys: f.keys, Now: time.Date(2199, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil || !got.LongTermValid() {
		t.Fatalf("长期 licence: %v", err)
	}
}

// resign replaces the payload of a token and signs it again with key, so
// tests can present well-signed but wrong credentials.
func resign(t *testing.T, tok string, key *gm.PrivateKey, edit func(payload string) string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(edit(string(p))))
	sig, err := gm.SignRS(key, []byte(parts[0]+"."+parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyErrors(t *testing.T) {
	f := newFixture(t)
	tok := f.sign(t, f.license(t, businessFields()))
	other, _ := gm.GenerateKey()
	parts := strings.Split(tok, ".")
	tests := []struct {
		name   string
		tok    string
		opts   func(*VerifyOptions)
		reason error
		field  string
	}{
		{name: "ok", tok: tok},
		{name: "garbage", tok: "not a jws", reason: ErrMalformed},
		{name: "empty", tok: "", reason: ErrMalformed},
		{name: "flipped signature", tok: parts[0] + "." + parts[1] + "." + flip(parts[2]), reason: ErrBadSignature},
		{name: "other key same kid", tok: resign(t, tok, other, same), reason: ErrBadSignature},
		{name: "unknown kid", tok: tok, opts: func(o *VerifyOptions) { o.Keys = KeySet{} }, reason: ErrUnknownKey},
		{name: "expired", tok: tok, opts: func(o *VerifyOptions) { o.Now = time.Date(2046, 3, 8, 0, 0, 1, 0, chinatime.Zone) }, reason: ErrExpired},
		{name: "last day still valid", tok: tok, opts: func(o *VerifyOptions) { o.Now = time.Date(2046, 3, 7, 23, 59, 0, 0, chinatime.Zone) }},
		{name: "not yet valid", tok: tok, opts: func(o *VerifyOptions) { o.Now = time.Date(2016, 3, 7, 12, 0, 0, 0, chinatime.Zone) }, reason: ErrNotYetValid},
		{name: "unknown class", tok: resign(t, tok, f.key, replace(`"class":"business-license"`, `"class":"fishing-permit"`)), reason: ErrUnknownClass},
		{name: "class by its name, not its key", tok: resign(t, tok, f.key, replace(`"class":"business-license"`, `"class":"营业执照"`)), reason: ErrUnknownClass},
		{name: "bad field", tok: resign(t, tok, f.key, replace(`"established":"2016-03-08"`, `"established":"2016-02-30"`)), reason: ErrBadField, field: "established"},
		{name: "holder mismatch", tok: resign(t, tok, f.key, replace(`"legal_rep":"张三"`, `"legal_rep":"张三","x":"y"`)), reason: ErrBadField},
		{name: "unknown claim ignored", tok: resign(t, tok, f.key, replace(`"lic":{`, `"lic":{"extra":1,`))},
		{name: "exp disagrees", tok: resign(t, tok, f.key, replace(`"valid_until":"2046-03-07"`, `"valid_until":"2047-03-07"`)), reason: ErrMalformed, field: "exp"},
		{name: "wrong typ", tok: resignHeader(t, tok, f.key, `{"alg":"SM2SM3","kid":"0011223344556677","typ":"JWT"}`), reason: ErrMalformed, field: "typ"},
		{name: "alg none", tok: "eyJhbGciOiJub25lIn0." + parts[1] + ".", reason: ErrMalformed},
		{name: "crit", tok: resignHeader(t, tok, f.key, `{"alg":"SM2SM3","crit":["exp"],"exp":1,"kid":"0011223344556677","typ":"elicense+jwt"}`), reason: ErrMalformed, field: "crit"},
		{name: "crit empty", tok: resignHeader(t, tok, f.key, `{"alg":"SM2SM3","crit":[],"kid":"0011223344556677","typ":"elicense+jwt"}`), reason: ErrMalformed, field: "crit"},
		{name: "unknown header member ignored", tok: resignHeader(t, tok, f.key, `{"alg":"SM2SM3","kid":"0011223344556677","typ":"elicense+jwt","x-note":{"a":[1]}}`)},
		{name: "duplicate header member", tok: resignHeader(t, tok, f.key, `{"alg":"SM2SM3","kid":"0011223344556677","kid":"ffffffffffffffff","typ":"elicense+jwt"}`), reason: ErrMalformed, field: "header"},
		{name: "no kid", tok: resignHeader(t, tok, f.key, `{"alg":"SM2SM3","typ":"elicense+jwt"}`), reason: ErrMalformed, field: "kid"},
		{name: "padded header", tok: resignParts(t, f.key, padded(t, base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"SM2SM3","kid":"0011223344556677","typ":"elicense+jwt"}`))), parts[1]), reason: ErrMalformed, field: "header"},
		{name: "padded payload", tok: resignParts(t, f.key, parts[0], padded(t, parts[1])), reason: ErrMalformed, field: "payload"},
		{name: "padded signature", tok: parts[0] + "." + parts[1] + "." + padded(t, parts[2]), reason: ErrMalformed, field: "signature"},
		{name: "short signature", tok: parts[0] + "." + parts[1] + "." + parts[2][:40], reason: ErrBadSignature, field: "signature"},
		{name: "four parts", tok: tok + ".", reason: ErrMalformed},
		{name: "class not allowed", tok: tok, opts: func(o *VerifyOptions) {
			o.Keys = KeySet{testKID: {{Public: f.key.PublicKey(), AgencyCode: testIssuer, Classes: []string{"drivers-license"}}}}
		}, reason: ErrClassNotAllowed},
		{name: "issuer mismatch", tok: tok, opts: func(o *VerifyOptions) {
			o.Keys = KeySet{testKID: {{Public: f.key.PublicKey(), AgencyCode: "91110000600037341L", Classes: []string{"business-license"}}}}
		}, reason: ErrIssuerMismatch},
		{name: "compromised before signing", tok: tok, opts: func(o *VerifyOptions) {
			o.Keys = KeySet{testKID: {{Public: f.key.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}, CompromisedSince: time.Now().Add(-time.Hour)}}}
		}, reason: ErrKeyCompromised},
		{name: "compromised after signing", tok: tok, opts: func(o *VerifyOptions) {
			o.Keys = KeySet{testKID: {{Public: f.key.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}, CompromisedSince: time.Now().Add(time.Hour)}}}
		}},
		{name: "kid collision", tok: tok, opts: func(o *VerifyOptions) {
			o.Keys = KeySet{testKID: {{Public: other.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}}, f.keys[testKID][0]}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := VerifyOptions{Keys: f.keys, Now: during}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Verify(tc.tok, opts)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.Is(err, tc.reason) || !errors.As(err, &ce) {
				t.Fatalf("got %v, want %v", err, tc.reason)
			}
			if tc.field != "" && ce.Field != tc.field {
				t.Fatalf("field %q, want %q (%v)", ce.Field, tc.field, err)
			}
		})
	}
}

func TestSignRejectsInvalid(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		edit   func(*License)
		reason error
	}{
		{"unknown class", func(l *License) { l.Class = "nope" }, ErrUnknownClass},
		{"bad holder code", func(l *License) { l.HolderCode = "91110000600037341X" }, ErrBadField},
		{"bad issuer code", func(l *License) { l.IssuerCode = "123" }, ErrBadField},
		{"id of another issuer", func(l *License) { l.IssuerCode = testHolder }, ErrBadField},
		{"missing field", func(l *License) { delete(l.Fields, "legal_rep") }, ErrBadField},
		{"until disagrees with term", func(l *License) { l.ValidUntil = l.ValidUntil.AddDate(1, 0, 0) }, ErrBadField},
		{"long term disagrees with term", func(l *License) { l.ValidUntil = time.Time{} }, ErrBadField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := f.license(t, businessFields())
			tc.edit(l)
			if _, err := Sign(l, SignOptions{Signer: f.key, KeyID: testKID}); !errors.Is(err, tc.reason) {
				t.Fatalf("got %v, want %v", err, tc.reason)
			}
		})
	}
}

func same(s string) string { return s }

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("payload lacks " + old + ": " + s)
		}
		return strings.Replace(s, old, new, 1)
	}
}

func resignHeader(t testing.TB, tok string, key *gm.PrivateKey, header string) string {
	parts := strings.Split(tok, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(header))
	sig, err := gm.SignRS(key, []byte(parts[0]+"."+parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// resignParts signs header64.payload64 as they are, so tests can present
// well-signed tokens whose parts are wrongly encoded.
func resignParts(t *testing.T, key *gm.PrivateKey, header64, payload64 string) string {
	sig, err := gm.SignRS(key, []byte(header64+"."+payload64))
	if err != nil {
		t.Fatal(err)
	}
	return header64 + "." + payload64 + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// padded re-encodes a base64url part with padding; the part's length must
// need some.
func padded(t *testing.T, part string) string {
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil || len(raw)%3 == 0 {
		t.Fatalf("part %q cannot take padding", part)
	}
	return base64.URLEncoding.EncodeToString(raw)
}

func flip(s string) string {
	b := []byte(s)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}

// Our tokens are plain JWS: golang-jwt's own parser accepts them.
func TestJWTLibraryAcceptsCredential(t *testing.T) {
	f := newFixture(t)
	tok := f.sign(t, f.license(t, businessFields()))
	var c claims
	parsed, err := jwt.NewParser(jwt.WithValidMethods([]string{gm.AlgSM2SM3}), jwt.WithTimeFunc(func() time.Time { return during })).
		ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return f.key.PublicKey(), nil })
	if err != nil || !parsed.Valid || parsed.Header["typ"] != TokenType || c.Lic.Class != "business-license" {
		t.Fatalf("jwt.Parse: %v", err)
	}
}
