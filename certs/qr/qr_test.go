package qr

import (
	"bytes"
	"compress/zlib"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/internal/base45"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
)

const (
	testIssuer = "11100000MB0341032Y"
	testKID    = "0011223344556677"
)

type fixture struct {
	issuer, device *gm.PrivateKey
	keys           credential.KeySet
}

func newFixture(t testing.TB, classes ...string) *fixture {
	t.Helper()
	iss, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{issuer: iss, device: dev, keys: credential.KeySet{testKID: {{
		Public: iss.PublicKey(), AgencyCode: testIssuer, Classes: classes,
	}}}}
}

// holding signs a licence of class cl with fields and builds its QR core,
// bound to the fixture's device key when bind is set.
func (f *fixture) holding(t testing.TB, cl *catalog.Class, fields map[string]string, bind bool) *Holding {
	t.Helper()
	l := f.license(t, cl, fields)
	if bind {
		l.Device = f.device.PublicKey()
	}
	l.Status = &credential.StatusRef{URI: "https://elicense.example/v1/status/amr-1", Index: 123456}
	jws, err := credential.Sign(l, credential.SignOptions{Signer: f.issuer, KeyID: testKID})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Build(l, jws, BuildOptions{Signer: f.issuer, KeyID: testKID, StatusList: "amr-1"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func businessFields() map[string]string {
	return map[string]string{
		"name":                   "上海浦江示例科技有限公司",
		"uscc":                   "91110000600037341L",
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

func businessClass(t testing.TB) *catalog.Class {
	cl, ok := catalog.Default().Lookup("business-license")
	if !ok {
		t.Fatal("no business-license class")
	}
	return cl
}

var now = time.Date(2025, 6, 1, 9, 30, 0, 0, chinatime.Zone)

func TestPresentVerify(t *testing.T) {
	f := newFixture(t, "business-license")
	h := f.holding(t, businessClass(t), businessFields(), true)
	text, err := h.Present(f.device, now, "domicile", "registered_capital", "registration_authority")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, Prefix) {
		t.Fatalf("token %q lacks prefix", text)
	}
	tok, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tok.Verify(VerifyOptions{Keys: f.keys, Now: now.Add(20 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"legal_rep": "张三", "term": "2016-03-08至2046-03-07", "registration_authority": "上海市浦东新区市场监督管理局",
		"domicile": "上海市浦东新区世纪大道100号", "registered_capital": "100万元人民币",
	}
	for k, v := range want {
		if res.Fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, res.Fields[k], v)
		}
	}
	if _, ok := res.Fields["business_scope"]; ok {
		t.Error("an undisclosed optional field was revealed")
	}
	if !res.Bound || res.HolderName != "上海浦江示例科技有限公司" || res.StatusIndex != 123456 || res.StatusList != "amr-1" ||
		res.Class.Key != "business-license" || res.ValidUntil.Format("2006-01-02") != "2046-03-07" {
		t.Fatalf("result %+v", res)
	}
}

func TestStatic(t *testing.T) {
	f := newFixture(t, "business-license")
	h := f.holding(t, businessClass(t), businessFields(), false)
	if _, err := h.Present(f.device, now); !errors.Is(err, ErrBindingMismatch) {
		t.Fatalf("Present on an unbound licence: %v", err)
	}
	text, err := h.Static("business_scope")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tok.Verify(VerifyOptions{Keys: f.keys, Now: now.AddDate(3, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bound || res.Fields["business_scope"] != "软件开发；信息技术咨询服务。" {
		t.Fatalf("static result %+v", res)
	}
	bound := f.holding(t, businessClass(t), businessFields(), true)
	if _, err := bound.Static(); !errors.Is(err, ErrBindingMismatch) {
		t.Fatalf("Static on a bound licence: %v", err)
	}
}

// reencode rebuilds a token after edit changes its parts, keeping or
// redoing signatures as the test needs.
func reencode(t *testing.T, text string, edit func(env *envelope, b *body, c *core)) string {
	t.Helper()
	tok, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	env, b, c := tok.env, tok.body, tok.core
	edit(&env, &b, &c)
	return encodeText(prefixOf(tok.version), payloadOf(tok.version, env))
}

func TestVerifyErrors(t *testing.T) {
	f := newFixture(t, "business-license")
	h := f.holding(t, businessClass(t), businessFields(), true)
	good, err := h.Present(f.device, now, "domicile")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := gm.GenerateKey()
	resignDevice := func(env *envelope, b *body) {
		env.Body = mustMarshal(*b)
		env.DeviceSig, _ = gm.SignRS(f.device, append([]byte(presentationContext), env.Body...))
	}
	tests := []struct {
		name   string
		text   string
		opts   func(*VerifyOptions)
		reason error
	}{
		{name: "ok", text: good},
		{name: "edge of window", text: good, opts: func(o *VerifyOptions) { o.Now = now.Add(90 * time.Second) }},
		{name: "stale", text: good, opts: func(o *VerifyOptions) { o.Now = now.Add(91 * time.Second) }, reason: ErrPresentationStale},
		{name: "future", text: good, opts: func(o *VerifyOptions) { o.Now = now.Add(-31 * time.Second) }, reason: ErrPresentationFuture},
		{name: "unknown key", text: good, opts: func(o *VerifyOptions) { o.Keys = credential.KeySet{} }, reason: credential.ErrUnknownKey},
		{name: "class not allowed", text: good, opts: func(o *VerifyOptions) {
			o.Keys = credential.KeySet{testKID: {{Public: f.issuer.PublicKey(), AgencyCode: testIssuer, Classes: []string{"drivers-license"}}}}
		}, reason: credential.ErrClassNotAllowed},
		{name: "agency without the class", text: good, opts: func(o *VerifyOptions) {
			o.Keys = credential.KeySet{testKID: {{Public: f.issuer.PublicKey(), AgencyCode: "91110000600037341L", Classes: []string{"drivers-license"}}}}
		}, reason: credential.ErrClassNotAllowed},
		{name: "compromised key", text: good, opts: func(o *VerifyOptions) {
			o.Keys = credential.KeySet{testKID: {{Public: f.issuer.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}, CompromisedSince: now}}}
		}, reason: credential.ErrKeyCompromised},
		{name: "wrong prefix", text: "EL3:" + strings.TrimPrefix(good, Prefix), reason: ErrUnsupportedVersion},
		{name: "version 2 body under the version 1 prefix", text: PrefixV1 + strings.TrimPrefix(good, Prefix), reason: ErrMalformed},
		{name: "not ours", text: "https://example.com/", reason: ErrMalformed},
		{name: "bad base45", text: Prefix + "abc", reason: ErrMalformed},
		{name: "truncated", text: good[:len(good)-6], reason: ErrMalformed},
		{name: "device sig from other key", text: reencode(t, good, func(env *envelope, b *body, c *core) {
			env.DeviceSig, _ = gm.SignRS(other, append([]byte(presentationContext), env.Body...))
		}), reason: ErrBadDeviceSignature},
		{name: "holder changed", text: reencode(t, good, func(env *envelope, b *body, c *core) {
			c.HolderName = "别的公司"
			b.Core = mustMarshal(*c)
			resignDevice(env, b)
		}), reason: ErrBadSignature},
		{name: "disclosed value changed", text: reencode(t, good, func(env *envelope, b *body, c *core) {
			b.Disclosures[0].Value = "北京市"
			resignDevice(env, b)
		}), reason: ErrBadDisclosure},
		{name: "disclosure index moved", text: reencode(t, good, func(env *envelope, b *body, c *core) {
			b.Disclosures[0].Leaf ^= 1
			resignDevice(env, b)
		}), reason: ErrBadDisclosure},
		{name: "time changed", text: reencode(t, good, func(env *envelope, b *body, c *core) {
			b.PresentedAt += 30
			env.Body = mustMarshal(*b)
		}), opts: func(o *VerifyOptions) { o.Now = now.Add(30 * time.Second) }, reason: ErrBadDeviceSignature},
		{name: "signature stripped (screenshot of a static form)", text: reencode(t, good, func(env *envelope, b *body, c *core) {
			b.PresentedAt = 0
			env.Body = mustMarshal(*b)
			env.DeviceSig = nil
		}), reason: ErrBindingMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := VerifyOptions{Keys: f.keys, Now: now.Add(10 * time.Second)}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			tok, err := Decode(tc.text)
			if err == nil {
				_, err = tok.Verify(opts)
			}
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var qe *Error
			if !errors.Is(err, tc.reason) || !errors.As(err, &qe) {
				t.Fatalf("got %v, want %v", err, tc.reason)
			}
		})
	}
}

func TestExpiredLicenceStatic(t *testing.T) {
	f := newFixture(t, "business-license")
	text, err := f.holding(t, businessClass(t), businessFields(), false).Static()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at     time.Time
		reason error
	}{
		{time.Date(2046, 3, 7, 23, 59, 0, 0, chinatime.Zone), nil},
		{time.Date(2046, 3, 8, 0, 0, 0, 0, chinatime.Zone), credential.ErrExpired},
		{time.Date(2016, 3, 7, 23, 0, 0, 0, chinatime.Zone), credential.ErrNotYetValid},
	} {
		if _, err := tok.Verify(VerifyOptions{Keys: f.keys, Now: tc.at}); !errors.Is(err, tc.reason) {
			t.Errorf("at %v: got %v, want %v", tc.at, err, tc.reason)
		}
	}
}

func TestNonCanonicalRejected(t *testing.T) {
	f := newFixture(t, "business-license")
	text, err := f.holding(t, businessClass(t), businessFields(), false).Static()
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := decodeText(text)
	if err != nil {
		t.Fatal(err)
	}
	// Re-encode the body's length with a needlessly long head: 0x85
	// (array of 5) becomes 0x98 0x05.
	if raw[0] != 0x85 {
		t.Fatalf("unexpected body head %#x", raw[0])
	}
	long := append([]byte{0x98, 0x05}, raw[1:]...)
	if _, err := Decode(Prefix + base45.Encode(long)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("non-canonical envelope: %v", err)
	}
}

// TestZlibTrailingData: a compressed payload decodes, and the same with a
// byte after the ZLIB stream is refused (QR-05).
func TestZlibTrailingData(t *testing.T) {
	f := newFixture(t, "business-license")
	text, err := f.holding(t, businessClass(t), businessFields(), false).Static()
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := decodeText(text)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	tests := []struct {
		name    string
		payload []byte
		ok      bool
	}{
		{"compressed", z.Bytes(), true},
		{"a byte after the stream", append(bytes.Clone(z.Bytes()), 0), false},
	}
	for _, tt := range tests {
		_, err := Decode(Prefix + base45.Encode(tt.payload))
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
