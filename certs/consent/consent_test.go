package consent

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
)

func wantReason(t *testing.T, err, reason error) {
	t.Helper()
	if reason == nil {
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
		return
	}
	if !errors.Is(err, reason) {
		t.Fatalf("got %v, want %v", err, reason)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not a *Error", err)
	}
}

func TestProof(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"consent":"x"}`)
	tok, err := SignProof(f.rpKey, ProofClaims{Subject: testRP, Method: "POST", Path: "/v1/requests", IssuedAt: t0, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	noBody, err := SignProof(f.rpKey, ProofClaims{Subject: testRP, Method: "GET", Path: "/v1/grants/" + testGrant + "/credential", IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tok    string
		key    *gm.PrivateKey
		method string
		path   string
		body   []byte
		now    time.Time
		reason error
	}{
		{"good", tok, f.rpKey, "POST", "/v1/requests", body, t0, nil},
		{"good, no body", noBody, f.rpKey, "GET", "/v1/grants/" + testGrant + "/credential", nil, t0.Add(ProofSkew), nil},
		{"forged: another key", tok, f.deviceKey, "POST", "/v1/requests", body, t0, ErrSignature},
		{"another method", tok, f.rpKey, "PUT", "/v1/requests", body, t0, ErrMismatch},
		{"replayed to another path", noBody, f.rpKey, "GET", "/v1/grants/g_other/credential", nil, t0, ErrMismatch},
		{"too old", tok, f.rpKey, "POST", "/v1/requests", body, t0.Add(ProofSkew + time.Second), ErrExpired},
		{"from the future", tok, f.rpKey, "POST", "/v1/requests", body, t0.Add(-ProofSkew - time.Second), ErrExpired},
		{"another body", tok, f.rpKey, "POST", "/v1/requests", []byte(`{"consent":"y"}`), t0, ErrMismatch},
		{"body without bh", noBody, f.rpKey, "GET", "/v1/grants/" + testGrant + "/credential", body, t0, ErrMismatch},
		{"bh without body", tok, f.rpKey, "POST", "/v1/requests", nil, t0, ErrMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseAuthorization("ELProof " + tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			wantReason(t, p.Verify(tc.key.PublicKey(), tc.method, tc.path, tc.body, tc.now), tc.reason)
		})
	}
	p, _ := ParseProof(tok)
	if p.Subject != testRP || len(p.JTI) != 22 || len(p.BodyHash) != gm.SM3Size || !p.IssuedAt.Equal(t0) {
		t.Errorf("parsed %+v", p)
	}
}

func TestProofMalformed(t *testing.T) {
	f := newFixture(t)
	hdr := `{"alg":"SM2SM3","typ":"elicense-proof+jwt"}`
	good := map[string]any{"sub": testRP, "htm": "GET", "htu": "/v1/requests/r_x", "iat": t0.Unix(), "jti": "AAAAAAAAAAAAAAAAAAAAAA"}
	with := func(k string, v any) string {
		m := maps.Clone(good)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return jsonText(t, m)
	}
	tests := []struct {
		name, header, payload, part string
	}{
		{"good", hdr, with("sub", testRP), ""},
		{"wrong typ", `{"alg":"SM2SM3","typ":"elicense-consent+jwt"}`, with("sub", testRP), "typ"},
		{"alg none", `{"alg":"none","typ":"elicense-proof+jwt"}`, with("sub", testRP), "alg"},
		{"no sub", hdr, with("sub", nil), "sub"},
		{"sub with a newline", hdr, with("sub", "a\nb"), "sub"},
		{"lower-case htm", hdr, with("htm", "get"), "htm"},
		{"htu with a query", hdr, with("htu", "/v1/x?y=1"), "htu"},
		{"htu absolute URL", hdr, with("htu", "https://h/v1/x"), "htu"},
		{"no iat", hdr, with("iat", nil), "iat"},
		{"iat fractional", hdr, with("iat", 1.5), "payload"},
		{"iat a string", hdr, with("iat", "1"), "payload"},
		{"jti short", hdr, with("jti", "AAAA"), "jti"},
		{"jti not base64url", hdr, with("jti", "AAAAAAAAAAAAAAAAAAAA+A"), "jti"},
		{"bh short", hdr, with("bh", "AAAA"), "bh"},
		{"duplicate claim", hdr, `{"sub":"a","sub":"b","htm":"GET","htu":"/","iat":1,"jti":"AAAAAAAAAAAAAAAAAAAAAA"}`, "payload"},
		{"payload not an object", hdr, `[1]`, "payload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProof(signRaw(t, f.rpKey, tc.header, tc.payload))
			if tc.part == "" {
				wantReason(t, err, nil)
				return
			}
			wantReason(t, err, ErrMalformed)
			var e *Error
			errors.As(err, &e)
			if e.Part != tc.part {
				t.Errorf("part %q, want %q (%v)", e.Part, tc.part, err)
			}
		})
	}
	if _, err := ParseAuthorization("Bearer x"); !errors.Is(err, ErrMalformed) {
		t.Errorf("Bearer: %v", err)
	}
	if _, err := SignProof(f.rpKey, ProofClaims{Subject: testRP, Method: "GET", Path: "v1"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("SignProof signed a bad path: %v", err)
	}
}

func TestRequest(t *testing.T) {
	f := newFixture(t)
	good := f.requestClaims(t)
	kid := gm.KeyIDString(f.ledgerDER)
	tok, err := SignRequest(f.ledgerKey, kid, good)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRequest(tok)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != good.ID || r.KeyID != kid || r.Duration != good.Duration || !slices.Equal(r.FieldKeys(), []string{"name", "legal_rep", "domicile"}) {
		t.Errorf("parsed %+v", r)
	}
	signed := func(c RequestClaims) string {
		tok, err := SignRequest(f.ledgerKey, kid, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	unknownField, badLabel, unknownClass := good, good, good
	unknownField.Fields = append(slices.Clone(good.Fields), RequestedField{Key: "salary", Name: "工资", Purpose: "x"})
	badLabel.Fields = slices.Clone(good.Fields)
	badLabel.Fields[0].Name = "姓名"
	unknownClass.Class = "fishing-licence"
	tests := []struct {
		name   string
		tok    string
		key    *gm.PrivateKey
		iss    string
		now    time.Time
		reason error
	}{
		{"good", tok, f.ledgerKey, issuerURL, t0.Add(RequestLifetime), nil},
		{"forged: another key", tok, f.agencyKey, issuerURL, t0, ErrSignature},
		{"expired", tok, f.ledgerKey, issuerURL, t0.Add(RequestLifetime + time.Second), ErrExpired},
		{"another issuer", tok, f.ledgerKey, "https://evil.example", t0, ErrMismatch},
		{"field not in the class", signed(unknownField), f.ledgerKey, issuerURL, t0, ErrField},
		{"field with another name", signed(badLabel), f.ledgerKey, issuerURL, t0, ErrField},
		{"unknown class", signed(unknownClass), f.ledgerKey, issuerURL, t0, ErrField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRequest(tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			wantReason(t, r.Verify(tc.key.PublicKey(), tc.iss, catalog.Default(), tc.now), tc.reason)
		})
	}
}

func TestRequestMalformed(t *testing.T) {
	f := newFixture(t)
	kid := gm.KeyIDString(f.ledgerDER)
	good := f.requestClaims(t)
	mod := func(fn func(*RequestClaims)) RequestClaims {
		c := good
		c.Fields = slices.Clone(good.Fields)
		fn(&c)
		return c
	}
	tests := []struct {
		name string
		c    RequestClaims
		part string
	}{
		{"bad id", mod(func(c *RequestClaims) { c.ID = "r_short" }), "id"},
		{"grant id", mod(func(c *RequestClaims) { c.ID = testGrant }), "id"},
		{"no iss", mod(func(c *RequestClaims) { c.Issuer = "" }), "iss"},
		{"exp before iat", mod(func(c *RequestClaims) { c.ExpiresAt = t0.Add(-time.Second) }), "exp"},
		{"bad rp id", mod(func(c *RequestClaims) { c.RP.ID = "Food_Permit" }), "rp.id"},
		{"no rp name", mod(func(c *RequestClaims) { c.RP.Name = "" }), "rp"},
		{"no matter", mod(func(c *RequestClaims) { c.Matter = Matter{} }), "matter"},
		{"duration short", mod(func(c *RequestClaims) { c.Duration = 59 * time.Second }), "duration"},
		{"duration long", mod(func(c *RequestClaims) { c.Duration = MaxDuration + time.Second }), "duration"},
		{"bad use", mod(func(c *RequestClaims) { c.Use = "twice" }), "use"},
		{"no fields", mod(func(c *RequestClaims) { c.Fields = nil }), "fields"},
		{"field twice", mod(func(c *RequestClaims) { c.Fields = append(c.Fields, c.Fields[0]) }), "fields"},
		{"no purpose", mod(func(c *RequestClaims) { c.Fields[1].Purpose = "" }), "fields"},
		{"bad key", mod(func(c *RequestClaims) { c.Fields[1].Key = "_sd" }), "fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SignRequest(f.ledgerKey, kid, tc.c)
			wantReason(t, err, ErrMalformed)
			var e *Error
			if errors.As(err, &e); e.Part != tc.part {
				t.Errorf("part %q, want %q (%v)", e.Part, tc.part, err)
			}
			// The same payload signed anyway is refused by the parser.
			w := requestWire{ID: tc.c.ID, Iss: tc.c.Issuer, Iat: ptr(tc.c.IssuedAt.Unix()), Exp: ptr(tc.c.ExpiresAt.Unix()),
				RP: &tc.c.RP, Matter: &tc.c.Matter, Class: tc.c.Class, Fields: tc.c.Fields, Duration: ptr(int64(tc.c.Duration / time.Second)), Use: tc.c.Use}
			tok := signRaw(t, f.ledgerKey, `{"alg":"SM2SM3","typ":"elicense-request+jwt","kid":"`+kid+`"}`, jsonText(t, w))
			if _, err := ParseRequest(tok); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseRequest: %v", err)
			}
		})
	}
	tok, _ := SignRequest(f.ledgerKey, kid, good)
	noKid := signRaw(t, f.ledgerKey, `{"alg":"SM2SM3","typ":"elicense-request+jwt"}`, jsonText(t, payloadOf(t, tok)))
	if _, err := ParseRequest(noKid); !errors.Is(err, ErrMalformed) {
		t.Errorf("no kid: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestConsent(t *testing.T) {
	f := newFixture(t)
	fl := f.flow(t)
	other := f.requestClaims(t)
	other.ID = "r_ICEiIyQlJicoKSorLC0uLw"
	otherReq, err := SignRequest(f.ledgerKey, gm.KeyIDString(f.ledgerDER), other)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(c ConsentClaims) string {
		tok, err := SignConsent(f.deviceKey, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	base := ConsentClaims{Request: "r_AAECAwQFBgcICQoLDA0ODw", RequestSM3: RequestSM3(fl.request), Licence: testCopyID,
		Decision: Approve, Fields: []string{"name"}, IssuedAt: t0}
	widened, refusal, otherID := base, base, base
	widened.Fields = []string{"name", "uscc"}
	refusal.Decision, refusal.Fields = Refuse, nil
	otherID.Request = other.ID
	tests := []struct {
		name    string
		consent string
		key     *gm.PrivateKey
		request string
		reason  error
	}{
		{"good", fl.consent, f.deviceKey, fl.request, nil},
		{"refusal", sign(refusal), f.deviceKey, fl.request, nil},
		{"forged: another device", fl.consent, f.otherDevice, fl.request, ErrSignature},
		{"replayed to another request", fl.consent, f.deviceKey, otherReq, ErrMismatch},
		{"request id not the request's", sign(otherID), f.deviceKey, fl.request, ErrMismatch},
		{"widened: a field not requested", sign(widened), f.deviceKey, fl.request, ErrWidened},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConsent(tc.consent)
			if err != nil {
				t.Fatal(err)
			}
			wantReason(t, c.Verify(tc.key.PublicKey(), tc.request), tc.reason)
		})
	}
	for name, c := range map[string]ConsentClaims{
		"no fields":           func() ConsentClaims { c := base; c.Fields = nil; return c }(),
		"field twice":         func() ConsentClaims { c := base; c.Fields = []string{"name", "name"}; return c }(),
		"fields in a refusal": func() ConsentClaims { c := base; c.Decision = Refuse; return c }(),
		"unknown decision":    func() ConsentClaims { c := base; c.Decision = "maybe"; return c }(),
		"not a copy":          func() ConsentClaims { c := base; c.Licence = testLicID; return c }(),
		"bad request_sm3":     func() ConsentClaims { c := base; c.RequestSM3 = "abc"; return c }(),
		"bad request id":      func() ConsentClaims { c := base; c.Request = "x"; return c }(),
	} {
		if _, err := SignConsent(f.deviceKey, c); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: SignConsent gave %v", name, err)
		}
	}
}

func TestGrantCredential(t *testing.T) {
	f := newFixture(t)
	fl := f.flow(t)
	v, err := VerifyGrantCredential(fl.credential, fl.consent, fl.request, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"name": f.samples["name"], "legal_rep": f.samples["legal_rep"]}; !maps.Equal(v.Fields, want) {
		t.Errorf("fields %v, want %v", v.Fields, want)
	}
	if len(v.Credential.SD) != len(f.samples) || len(fl.disclosures) != len(f.samples) {
		t.Errorf("%d digests, %d disclosures for %d fields", len(v.Credential.SD), len(fl.disclosures), len(f.samples))
	}
	if v.Consent.Licence != testCopyID || v.Request.ID != "r_AAECAwQFBgcICQoLDA0ODw" {
		t.Errorf("verified %+v", v)
	}

	kid := gm.KeyIDString(f.agencyDER)
	issue := func(key *gm.PrivateKey, kid string, mod func(*GrantBase), fields map[string]string) string {
		b := f.base()
		if mod != nil {
			mod(&b)
		}
		if fields == nil {
			fields = f.samples
		}
		jwt, d, err := IssueGrantCredential(key, kid, b, fields)
		if err != nil {
			t.Fatal(err)
		}
		return Present(jwt, d, []string{"name", "legal_rep"})
	}
	consent := func(fields ...string) string {
		c, err := SignConsent(f.deviceKey, ConsentClaims{Request: "r_AAECAwQFBgcICQoLDA0ODw", RequestSM3: RequestSM3(fl.request),
			Licence: testCopyID, Decision: Approve, Fields: fields, IssuedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	refusal, err := SignConsent(f.deviceKey, ConsentClaims{Request: "r_AAECAwQFBgcICQoLDA0ODw", RequestSM3: RequestSM3(fl.request),
		Licence: testCopyID, Decision: Refuse, IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	otherCopy, err := SignConsent(f.deviceKey, ConsentClaims{Request: "r_AAECAwQFBgcICQoLDA0ODw", RequestSM3: RequestSM3(fl.request),
		Licence: "9999#0011223344556677", Decision: Approve, Fields: []string{"name", "legal_rep"}, IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	otherDevice, err := SignConsent(f.otherDevice, ConsentClaims{Request: "r_AAECAwQFBgcICQoLDA0ODw", RequestSM3: RequestSM3(fl.request),
		Licence: testCopyID, Decision: Approve, Fields: []string{"name", "legal_rep"}, IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	badValue := maps.Clone(f.samples)
	badValue["uscc"] = "91310115MA1FPA014X"
	tampered := strings.Replace(fl.credential, fl.disclosures["name"], fl.disclosures["uscc"], 1)
	revoked := func(credential.StatusRef) (statuslist.Status, error) { return statuslist.Revoked, nil }
	unreadable := func(credential.StatusRef) (statuslist.Status, error) { return 0, errors.New("list not fetched") }
	opts := func(mod func(*VerifyOptions)) VerifyOptions {
		o := f.opts()
		if mod != nil {
			mod(&o)
		}
		return o
	}
	tests := []struct {
		name         string
		cred, consnt string
		opts         VerifyOptions
		reason       error
	}{
		{"good", fl.credential, fl.consent, opts(nil), nil},
		{"forged: signed by another key under the agency's kid", issue(f.badKey, kid, nil, nil), fl.consent, opts(nil), ErrSignature},
		{"unknown kid", issue(f.agencyKey, "0011223344556677", nil, nil), fl.consent, opts(nil), ErrUnknownKey},
		{"compromised key", issue(f.badKey, gm.KeyIDString(f.badDER), nil, nil), fl.consent, opts(nil), ErrKey},
		{"key of another agency", issue(f.policeKey, gm.KeyIDString(f.policeDER), nil, nil), fl.consent, opts(nil), ErrKey},
		{"key not allowed the class", issue(f.policeKey, gm.KeyIDString(f.policeDER), func(b *GrantBase) { b.Issuer = codePolice }, nil), fl.consent, opts(nil), ErrKey},
		{"licence expired", fl.credential, fl.consent, opts(func(o *VerifyOptions) { o.Now = time.Date(2049, 4, 18, 0, 0, 0, 0, chinatime.Zone) }), ErrExpired},
		{"replayed to another grant", fl.credential, fl.consent, opts(func(o *VerifyOptions) { o.Grant = "g_ICEiIyQlJicoKSorLC0uLw" }), ErrMismatch},
		{"replayed to another party", fl.credential, fl.consent, opts(func(o *VerifyOptions) { o.RP = "another-party" }), ErrMismatch},
		{"disclosure swapped", tampered, fl.consent, opts(nil), ErrWidened},
		{"disclosure of another credential", issue(f.agencyKey, kid, nil, nil) + fl.disclosures["uscc"] + "~", fl.consent, opts(nil), ErrMismatch},
		{"widened: a disclosure not consented", fl.credential + fl.disclosures["domicile"] + "~", fl.consent, opts(nil), ErrWidened},
		{"widened: consent beyond the request", fl.credential + fl.disclosures["uscc"] + "~", consent("name", "legal_rep", "uscc"), opts(nil), ErrWidened},
		{"consented field not disclosed", fl.credential, consent("name", "legal_rep", "domicile"), opts(nil), ErrMismatch},
		{"refused", fl.credential, refusal, opts(nil), ErrRefused},
		{"consent for another licence", fl.credential, otherCopy, opts(nil), ErrMismatch},
		{"consent by another device", fl.credential, otherDevice, opts(nil), ErrSignature},
		{"status revoked", fl.credential, fl.consent, opts(func(o *VerifyOptions) { o.Status = revoked }), ErrStatus},
		{"status unreadable", fl.credential, fl.consent, opts(func(o *VerifyOptions) { o.Status = unreadable }), ErrStatus},
		{"no status reader", fl.credential, fl.consent, opts(func(o *VerifyOptions) { o.Status = nil }), ErrStatus},
		{"a bundle with no ledger key to check the request", fl.credential, fl.consent, opts(func(o *VerifyOptions) {
			b, err := trust.Verify(f.bundleToken, trust.VerifyOptions{Roots: []*gm.Certificate{f.root}, Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			b.LedgerKey = nil
			o.Bundle = b
		}), ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyGrantCredential(tc.cred, tc.consnt, fl.request, tc.opts)
			wantReason(t, err, tc.reason)
		})
	}

	// A value its validator refuses, disclosed and consented, is ErrField.
	jwt, d, err := IssueGrantCredential(f.agencyKey, kid, f.base(), badValue)
	if err != nil {
		t.Fatal(err)
	}
	req := f.requestClaims(t)
	req.Fields = append(req.Fields, RequestedField{Key: "uscc", Name: mustField("business-license", "uscc"), Purpose: "核对"})
	reqJWS, _ := SignRequest(f.ledgerKey, gm.KeyIDString(f.ledgerDER), req)
	c, _ := SignConsent(f.deviceKey, ConsentClaims{Request: req.ID, RequestSM3: RequestSM3(reqJWS), Licence: testCopyID,
		Decision: Approve, Fields: []string{"uscc"}, IssuedAt: t0})
	_, err = VerifyGrantCredential(Present(jwt, d, []string{"uscc"}), c, reqJWS, f.opts())
	wantReason(t, err, ErrField)

	// The request must be signed by the bundle's ledger key.
	forgedReq, _ := SignRequest(f.agencyKey, gm.KeyIDString(f.ledgerDER), f.requestClaims(t))
	c, _ = SignConsent(f.deviceKey, ConsentClaims{Request: "r_AAECAwQFBgcICQoLDA0ODw", RequestSM3: RequestSM3(forgedReq), Licence: testCopyID,
		Decision: Approve, Fields: []string{"name", "legal_rep"}, IssuedAt: t0})
	_, err = VerifyGrantCredential(fl.credential, c, forgedReq, f.opts())
	wantReason(t, err, ErrSignature)
}

func mustField(class, key string) string {
	fd, ok := mustClass(class).Field(key)
	if !ok {
		panic(key)
	}
	return fd.Label
}

func TestGrantCredentialMalformed(t *testing.T) {
	f := newFixture(t)
	fl := f.flow(t)
	tests := []struct{ name, sdjwt string }{
		{"no tilde", fl.jwt},
		{"key-binding JWT", fl.credential + fl.jwt},
		{"empty disclosure", fl.jwt + "~~"},
		{"disclosure not base64url", fl.jwt + "~!!~"},
		{"disclosure twice", fl.credential + fl.disclosures["name"] + "~"},
		{"another token type", f.flow(t).consent + "~"},
		{"too long", strings.Repeat("a", MaxSDJWTLen+1)},
	}
	for _, tc := range tests {
		if _, err := ParseGrantCredential(tc.sdjwt); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	disclosures := []struct{ name, json string }{
		{"two elements", `["AAAAAAAAAAAAAAAAAAAAAA","name"]`},
		{"four elements", `["AAAAAAAAAAAAAAAAAAAAAA","name","x","y"]`},
		{"a number", `["AAAAAAAAAAAAAAAAAAAAAA","name",1]`},
		{"short salt", `["AAAA","name","x"]`},
		{"reserved key", `["AAAAAAAAAAAAAAAAAAAAAA","_sd","x"]`},
		{"object", `{"a":1}`},
	}
	for _, tc := range disclosures {
		if _, err := ParseDisclosure(b64(tc.json)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if d, err := ParseDisclosure(b64(`["AAAAAAAAAAAAAAAAAAAAAA","name","上海"]`)); err != nil || d.Value != "上海" || d.Digest != sm3b64([]byte(d.Encoded)) {
		t.Errorf("good disclosure: %+v, %v", d, err)
	}
	// Claims: each change signed by the agency key is refused by the parser.
	kid := gm.KeyIDString(f.agencyDER)
	claims := payloadOf(t, fl.jwt)
	hdr := `{"alg":"SM2SM3","typ":"elicense-sd+jwt","kid":"` + kid + `"}`
	for name, mod := range map[string]func(m map[string]any){
		"no _sd":          func(m map[string]any) { delete(m, "_sd") },
		"_sd unsorted":    func(m map[string]any) { sd := m["_sd"].([]any); sd[0], sd[1] = sd[1], sd[0] },
		"_sd_alg sha-256": func(m map[string]any) { m["_sd_alg"] = "sha-256" },
		"aud an array":    func(m map[string]any) { m["aud"] = []any{testRP} },
		"no cnf":          func(m map[string]any) { delete(m, "cnf") },
		"bad grant id":    func(m map[string]any) { m["grant"] = "g_1" },
		"长期 with exp":     func(m map[string]any) { m["lic"].(map[string]any)["valid_until"] = credential.LongTerm },
		"no exp":          func(m map[string]any) { delete(m, "exp") },
		"no status":       func(m map[string]any) { delete(m, "status") },
	} {
		m := payloadOf(t, fl.jwt)
		mod(m)
		if _, err := ParseGrantCredential(signRaw(t, f.agencyKey, hdr, jsonText(t, m)) + "~"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseGrantCredential(signRaw(t, f.agencyKey, hdr, jsonText(t, claims)) + "~"); err != nil {
		t.Errorf("claims re-signed unchanged: %v", err)
	}
}

func TestBaseFromLicence(t *testing.T) {
	f := newFixture(t)
	cl := mustClass("business-license")
	l, err := credential.NewLicense(cl, f.samples, credential.Issuance{ID: testLicID, IssuerName: "上海市浦东新区市场监督管理局",
		IssuerCode: codeMarket, IssuedOn: time.Date(2024, 6, 12, 0, 0, 0, 0, chinatime.Zone)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BaseFromLicence(l, testRP, testGrant, t0); !errors.Is(err, ErrMalformed) {
		t.Errorf("unbound licence: %v", err)
	}
	l.Device, l.Status = f.deviceKey.PublicKey(), &credential.StatusRef{URI: statusURI, Index: 7}
	b, err := BaseFromLicence(l, testRP, testGrant, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := f.base()
	if b.Device == nil || !b.Device.Equal(want.Device) {
		t.Error("device key differs")
	}
	if !b.NotBefore.Equal(want.NotBefore) || !b.Expires.Equal(want.Expires) {
		t.Errorf("nbf %v exp %v, want %v %v", b.NotBefore, b.Expires, want.NotBefore, want.Expires)
	}
	b.Device, want.Device = nil, nil
	b.NotBefore, b.Expires, want.NotBefore, want.Expires = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if b != want {
		t.Errorf("got  %+v\nwant %+v", b, want)
	}
}

func TestIDs(t *testing.T) {
	r, g := NewRequestID(), NewGrantID()
	if !ValidRequestID(r) || !ValidGrantID(g) || ValidRequestID(g) || ValidGrantID(r) || r == NewRequestID() {
		t.Errorf("ids %q %q", r, g)
	}
	for _, bad := range []string{"", "r_", "r_AAECAwQFBgcICQoLDA0OD", "r_AAECAwQFBgcICQoLDA0ODx", "r_AAECAwQFBgcICQoLDA0OD+", "R_AAECAwQFBgcICQoLDA0ODw"} {
		if ValidRequestID(bad) {
			t.Errorf("%q valid", bad)
		}
	}
}
