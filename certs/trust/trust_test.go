package trust

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/certs/jws"
	"elicense/certs/statuslist"
	"elicense/internal/gm"

	"github.com/golang-jwt/jwt/v5"
)

func TestSignVerify(t *testing.T) {
	f := newFixture(t)
	b := f.bundle(1)
	tok := f.sign(t, b)
	got, err := Verify(tok, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 1 || len(got.Agencies) != 2 || got.Root != gm.KeyIDString(f.rootDER) || got.Checkpoint != b.Checkpoint ||
		!got.IssuedAt.Equal(t0) || len(got.BundleSigner) != 2 {
		t.Fatalf("round trip: %+v", got)
	}
	var h map[string]any
	part, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err := json.Unmarshal(part, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "SM2SM3" || h["typ"] != "elicense-trust+jwt" || len(h["x5c"].([]any)) != 2 {
		t.Errorf("header %v", h)
	}
	if a, ok := got.Agency(codePolice); !ok || a.Name != "上海市公安局" {
		t.Error("Agency lookup")
	}
	if got.Age(t0.Add(time.Hour)) != time.Hour || got.Age(t0.Add(-time.Hour)) != 0 ||
		got.Expired(t0.Add(time.Hour)) || !got.Expired(t0.Add(25*time.Hour)) {
		t.Error("Age or Expired")
	}

	// The root may sign its bundle itself.
	rb := f.bundle(2)
	rootTok, err := Sign(rb, f.rootKey, [][]byte{f.rootDER})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(rootTok, f.opts()); err != nil {
		t.Fatalf("root-signed bundle: %v", err)
	}

	// golang-jwt's own parser accepts the token.
	p := jwt.NewParser(jwt.WithValidMethods([]string{gm.AlgSM2SM3}), jwt.WithoutClaimsValidation())
	if _, err := p.Parse(tok, func(*jwt.Token) (any, error) { return f.ledgerKey.PublicKey(), nil }); err != nil {
		t.Errorf("golang-jwt: %v", err)
	}
}

// resign re-signs a token after edit changes its payload JSON.
func resign(t *testing.T, f *fixture, tok string, edit func(*Bundle)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b := new(Bundle)
	if err := json.Unmarshal(raw, b); err != nil {
		t.Fatal(err)
	}
	edit(b)
	payload, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	signed := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := gm.SignRS(f.ledgerKey, []byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyTable(t *testing.T) {
	f := newFixture(t)
	good := f.sign(t, f.bundle(5))
	held, err := Verify(good, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	other := newFixture(t) // another PKI altogether
	otherTok := other.sign(t, other.bundle(5))
	_, foreignDER := other.agencyKey(t, codeMarket, "business-license")
	agencySigner, agencySignerDER := f.agencyKey(t, codeMarket, "business-license")
	_, marketDriversDER := f.agencyKey(t, codeMarket, "drivers-license")
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(mustB64(t, parts[1]), `"seq":5`, `"seq":6`, 1))) + "." + parts[2]
	// A bundle signed by an agency key must be refused even though it
	// chains to the root.
	ab := f.bundle(9)
	ab.BundleSigner = [][]byte{agencySignerDER, f.rootDER}
	abPayload, _ := json.Marshal(ab)
	abTok := forge(t, agencySigner, [][]byte{agencySignerDER, f.rootDER}, abPayload)

	// Tokens with the good payload under other headers, signed by the
	// right key, and with wrongly encoded parts.
	payload := []byte(mustB64(t, parts[1]))
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	x5c := func(ders ...[]byte) string {
		q := make([]string, len(ders))
		for i, der := range ders {
			q[i] = `"` + base64.StdEncoding.EncodeToString(der) + `"`
		}
		return `"x5c":[` + strings.Join(q, ",") + `]`
	}
	chain := x5c(f.ledgerDER, f.rootDER)
	withHeader := func(json string) string { return signParts(t, f.ledgerKey, enc(json), parts[1]) }
	typ := `"typ":"` + TokenType + `"`

	cases := []struct {
		name  string
		token string
		opts  func(*VerifyOptions)
		want  error
	}{
		{"good", good, nil, nil},
		{"header as the package writes it", withHeader(`{"alg":"SM2SM3",` + typ + `,` + chain + `}`), nil, nil},
		{"unknown header members ignored", withHeader(`{"alg":"SM2SM3",` + typ + `,` + chain + `,"kid":"x","x-note":{"a":[1]}}`), nil, nil},
		{"crit", withHeader(`{"alg":"SM2SM3",` + typ + `,` + chain + `,"crit":["exp"],"exp":1}`), nil, ErrMalformed},
		{"duplicate header member", withHeader(`{"alg":"SM2SM3",` + typ + `,` + chain + `,` + typ + `}`), nil, ErrMalformed},
		{"alg ES256", withHeader(`{"alg":"ES256",` + typ + `,` + chain + `}`), nil, ErrMalformed},
		{"typ JWT", withHeader(`{"alg":"SM2SM3","typ":"JWT",` + chain + `}`), nil, ErrMalformed},
		{"no x5c", withHeader(`{"alg":"SM2SM3",` + typ + `,"kid":"x"}`), nil, ErrMalformed},
		{"x5c empty", withHeader(`{"alg":"SM2SM3",` + typ + `,` + x5c() + `}`), nil, ErrMalformed},
		{"x5c of five", withHeader(`{"alg":"SM2SM3",` + typ + `,` + x5c(f.ledgerDER, f.rootDER, f.rootDER, f.rootDER, f.rootDER) + `}`), nil, ErrMalformed},
		{"x5c in base64url", withHeader(`{"alg":"SM2SM3",` + typ + `,"x5c":["` + enc(string(f.ledgerDER)) + `"]}`), nil, ErrMalformed},
		{"x5c not a certificate", withHeader(`{"alg":"SM2SM3",` + typ + `,"x5c":["AAAA"]}`), nil, ErrMalformed},
		{"padded header", signParts(t, f.ledgerKey, padded(t, parts[0]), parts[1]), nil, ErrMalformed},
		{"padded payload", signParts(t, f.ledgerKey, parts[0], padded(t, parts[1])), nil, ErrMalformed},
		{"padded signature", parts[0] + "." + parts[1] + "." + padded(t, parts[2]), nil, ErrMalformed},
		{"short signature", parts[0] + "." + parts[1] + "." + parts[2][:40], nil, ErrBadSignature},
		{"header from a JSON encoder", forge(t, f.ledgerKey, f.chain(), payload), nil, nil},
		{"same bundle again", good, func(o *VerifyOptions) { o.Previous = held }, nil},
		{"wrong root", otherTok, nil, ErrUntrustedSigner},
		{"agency signs bundle", abTok, nil, ErrUntrustedSigner},
		{"tampered payload", tampered, nil, ErrBadSignature},
		{"not a JWS", "abc", nil, ErrMalformed},
		{"rollback", resign(t, f, good, func(b *Bundle) { b.Seq = 4 }), func(o *VerifyOptions) { o.Previous = held }, ErrRollback},
		{"equal seq, other content", resign(t, f, good, func(b *Bundle) { b.Checkpoint += "x" }), func(o *VerifyOptions) { o.Previous = held }, ErrRollback},
		{"issued before the held one", resign(t, f, good, func(b *Bundle) { b.Seq = 6; b.IssuedAt = t0.Add(-time.Hour) }), func(o *VerifyOptions) { o.Previous = held }, ErrRollback},
		{"newer", resign(t, f, good, func(b *Bundle) { b.Seq = 6; b.IssuedAt = t0.Add(time.Minute) }), func(o *VerifyOptions) { o.Previous = held }, nil},
		{"agency cert not chained", resign(t, f, good, func(b *Bundle) {
			b.Agencies[0].Keys[0] = AgencyKey{KID: gm.KeyIDString(foreignDER), Cert: foreignDER, State: KeyActive}
		}), nil, ErrUntrustedKey},
		{"ledger cert as agency key", resign(t, f, good, func(b *Bundle) {
			b.Agencies[0].Keys[0] = AgencyKey{KID: gm.KeyIDString(f.ledgerDER), Cert: f.ledgerDER, State: KeyActive}
		}), nil, ErrUntrustedKey},
		{"certificate listed twice", resign(t, f, good, func(b *Bundle) {
			b.Agencies[1].Keys[0] = AgencyKey{KID: gm.KeyIDString(f.marketDER), Cert: f.marketDER, State: KeyActive}
		}), nil, ErrMalformed}, // the same certificate twice
		{"certificate of another agency", resign(t, f, good, func(b *Bundle) {
			b.Agencies[1].Keys[0] = AgencyKey{KID: gm.KeyIDString(marketDriversDER), Cert: marketDriversDER, State: KeyActive}
		}), nil, ErrUntrustedKey},
		{"class beyond the certificate", resign(t, f, good, func(b *Bundle) { b.Agencies[1].Classes = append(b.Agencies[1].Classes, "business-license") }), nil, ErrUntrustedKey},
		{"unknown class", resign(t, f, good, func(b *Bundle) { b.Agencies[0].Classes[1] = "fishing-licence" }), nil, ErrUnknownClass},
		{"type code for a class key", resign(t, f, good, func(b *Bundle) { b.Agencies[0].Classes[0] = "11310000PDY00001XQ001" }), nil, ErrUnknownClass},
		{"kid mismatch", resign(t, f, good, func(b *Bundle) { b.Agencies[0].Keys[0].KID = "0000000000000000" }), nil, ErrKeyIDMismatch},
		{"ledger kid mismatch", resign(t, f, good, func(b *Bundle) { b.LedgerKey.KID = "00" }), nil, ErrKeyIDMismatch},
		{"stale", good, func(o *VerifyOptions) { o.Now = t0.Add(25 * time.Hour) }, ErrStale},
		{"names another root", resign(t, f, good, func(b *Bundle) { b.Root = "0011223344556677" }), nil, ErrUntrustedSigner},
		{"bundle_signer differs", resign(t, f, good, func(b *Bundle) { b.BundleSigner = b.BundleSigner[:1] }), nil, ErrMalformed},
		{"version 2", resign(t, f, good, func(b *Bundle) { b.Version = 2 }), nil, ErrMalformed},
		{"seq 0", resign(t, f, good, func(b *Bundle) { b.Seq = 0 }), nil, ErrMalformed},
		{"next_update before issued_at", resign(t, f, good, func(b *Bundle) { b.NextUpdate = t0.Add(-time.Second) }), nil, ErrMalformed},
		{"bad agency code", resign(t, f, good, func(b *Bundle) { b.Agencies[0].Code = "11310000PDY100010X" }), nil, ErrMalformed},
		{"duplicate agency", resign(t, f, good, func(b *Bundle) { b.Agencies[1].Code = codeMarket }), nil, ErrMalformed},
		{"retired without since", resign(t, f, good, func(b *Bundle) { b.Agencies[0].Keys[1].Since = time.Time{} }), nil, ErrMalformed},
		{"unknown state", resign(t, f, good, func(b *Bundle) { b.Agencies[0].Keys[0].State = "lost" }), nil, ErrMalformed},
		{"list of unknown agency", resign(t, f, good, func(b *Bundle) { b.StatusLists[0].Agency = codePolice[:17] + "0" }), nil, ErrMalformed},
		{"list signed by compromised key", resign(t, f, good, func(b *Bundle) { b.StatusLists[0].SignerKID = gm.KeyIDString(f.badDER) }), nil, ErrMalformed},
		{"list signed by other agency", resign(t, f, good, func(b *Bundle) { b.StatusLists[0].SignerKID = gm.KeyIDString(f.policeDER) }), nil, ErrMalformed},
		{"duplicate list id", resign(t, f, good, func(b *Bundle) { b.StatusLists[1].ID = b.StatusLists[0].ID }), nil, ErrMalformed},
		{"long list id", resign(t, f, good, func(b *Bundle) { b.StatusLists[1].ID = "abcdefghijklmnopq" }), nil, ErrMalformed},
		{"list uri not http", resign(t, f, good, func(b *Bundle) { b.StatusLists[1].URI = "file:///etc/passwd" }), nil, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := f.opts()
			if c.opts != nil {
				c.opts(&o)
			}
			got, err := Verify(c.token, o)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			switch {
			case c.want == nil && got == nil, c.want == ErrStale && got == nil:
				t.Fatal("no bundle returned")
			case c.want != nil && c.want != ErrStale && got != nil:
				t.Fatal("bundle returned with an error")
			}
			var se *StaleError
			if c.want == ErrStale && (!errors.As(err, &se) || se.Overdue() != time.Hour) {
				t.Fatalf("stale error %#v, want one hour overdue", err)
			}
		})
	}
	if _, err := Verify(good, VerifyOptions{}); err == nil {
		t.Error("Verify without roots succeeded")
	}
}

// signParts signs header64.payload64 as they are, so tests can present
// well-signed tokens with any header or wrongly encoded parts.
func signParts(t testing.TB, key *gm.PrivateKey, header64, payload64 string) string {
	t.Helper()
	sig, err := gm.SignRS(key, []byte(header64+"."+payload64))
	if err != nil {
		t.Fatal(err)
	}
	return header64 + "." + payload64 + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// padded re-encodes a base64url part of JSON with padding, adding
// trailing spaces (which JSON ignores) until it needs some.
func padded(t *testing.T, part string) string {
	t.Helper()
	raw := []byte(mustB64(t, part))
	for len(raw)%3 == 0 {
		raw = append(raw, ' ')
	}
	return base64.URLEncoding.EncodeToString(raw)
}

// TestVerifyRefusesCrit: a correctly signed bundle whose header has
// "crit", in any form, is refused as malformed (RFC 7515 §4.1.11), and the
// error says why.
func TestVerifyRefusesCrit(t *testing.T) {
	f := newFixture(t)
	payload := mustB64(t, strings.Split(f.sign(t, f.bundle(5)), ".")[1])
	x5c := `"x5c":["` + base64.StdEncoding.EncodeToString(f.ledgerDER) + `","` + base64.StdEncoding.EncodeToString(f.rootDER) + `"]`
	for _, crit := range []string{`"crit":["exp"],"exp":1`, `"crit":[]`, `"crit":null`, `"crit":{}`} {
		h := `{"alg":"SM2SM3","typ":"` + TokenType + `",` + x5c + `,` + crit + `}`
		tok := signParts(t, f.ledgerKey, base64.RawURLEncoding.EncodeToString([]byte(h)), base64.RawURLEncoding.EncodeToString([]byte(payload)))
		if _, err := Verify(tok, f.opts()); !errors.Is(err, ErrMalformed) || !errors.Is(err, jws.ErrCritical) {
			t.Errorf("header with %s: %v, want ErrMalformed for crit", crit, err)
		}
	}
}

func mustB64(t testing.TB, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// forge signs payload as a bundle token with key and chain, bypassing
// Sign's checks.
func forge(t *testing.T, key *gm.PrivateKey, chain [][]byte, payload []byte) string {
	t.Helper()
	x5c := make([]string, len(chain))
	for i, der := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(der)
	}
	h, _ := json.Marshal(map[string]any{"alg": "SM2SM3", "typ": TokenType, "x5c": x5c})
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := gm.SignRS(key, []byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestSignRefuses(t *testing.T) {
	f := newFixture(t)
	b := f.bundle(1)
	b.Agencies[0].Classes = []string{"fishing-licence"}
	if _, err := Sign(b, f.ledgerKey, f.chain()); !errors.Is(err, ErrUnknownClass) {
		t.Errorf("unknown class: %v", err)
	}
	if _, err := Sign(f.bundle(1), f.rootKey, f.chain()); !errors.Is(err, ErrUntrustedSigner) {
		t.Errorf("key not of chain[0]: %v", err)
	}
	if _, err := Sign(f.bundle(1), f.ledgerKey, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("no chain: %v", err)
	}
	b = f.bundle(1)
	b.BundleSigner = [][]byte{f.rootDER}
	if _, err := Sign(b, f.ledgerKey, f.chain()); !errors.Is(err, ErrMalformed) {
		t.Errorf("bundle_signer differs: %v", err)
	}
}

func TestResolver(t *testing.T) {
	f := newFixture(t)
	b, err := Verify(f.sign(t, f.bundle(1)), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	r := b.Resolver()
	market := r.IssuerKeys(gm.KeyIDString(f.marketDER))
	if len(market) != 1 || market[0].AgencyCode != codeMarket || !market[0].Public.Equal(f.marketKey.PublicKey()) ||
		len(market[0].Classes) != 2 || !market[0].NotBefore.Equal(t0.Add(-time.Hour)) ||
		!market[0].NotAfter.Equal(t0.Add(365*24*time.Hour)) || !market[0].CompromisedSince.IsZero() {
		t.Errorf("active key: %+v", market)
	}
	old := r.IssuerKeys(gm.KeyIDString(f.oldDER))
	// A retired key keeps its certificate's NotAfter: the retirement is a
	// state of its own, so a verifier can tell KEY_RETIRED from a key
	// used outside its certificate.
	if len(old) != 1 || !old[0].RetiredSince.Equal(t0.Add(-30*time.Minute)) || old[0].NotAfter.Equal(old[0].RetiredSince) || !old[0].CompromisedSince.IsZero() {
		t.Errorf("retired key: %+v", old)
	}
	bad := r.IssuerKeys(gm.KeyIDString(f.badDER))
	if len(bad) != 1 || !bad[0].CompromisedSince.Equal(t0.Add(-10*time.Minute)) {
		t.Errorf("compromised key: %+v", bad)
	}
	if r.IssuerKeys(gm.KeyIDString(f.ledgerDER)) != nil || r.IssuerKeys("") != nil {
		t.Error("the ledger key or an empty kid resolves as an agency key")
	}
	// A bundle built in memory resolves the same way.
	mem := f.bundle(1)
	if got := mem.Resolver().IssuerKeys(gm.KeyIDString(f.oldDER)); len(got) != 1 || !got[0].RetiredSince.Equal(old[0].RetiredSince) {
		t.Errorf("in-memory bundle: %+v", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.IssuerKeys(gm.KeyIDString(f.marketDER)) }); n > 1 {
		t.Errorf("IssuerKeys allocates %v times", n)
	}
}

// TestResolverWithCredential checks the bundle end to end with the
// credential verifier: a licence signed by an active key verifies; one
// signed by the compromised key after its compromise does not; one signed
// by the retired key after retirement does not, before it does.
func TestResolverWithCredential(t *testing.T) {
	f := newFixture(t)
	b, err := Verify(f.sign(t, f.bundle(1)), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := catalog.Default().Lookup("business-license")
	sign := func(key *gm.PrivateKey, der []byte, at time.Time) string {
		id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: codeMarket, Serial: "2026000001", Version: 1}
		l, err := credential.NewLicense(cl, map[string]string{
			"name": "上海浦江示例科技有限公司", "uscc": "91110000600037341L", "entity_type": "有限责任公司(自然人投资或控股)",
			"legal_rep": "张三", "established": "2016-03-08", "term": "2016-03-08至2046-03-07",
			"domicile": "上海市浦东新区世纪大道100号", "business_scope": "软件开发。",
			"registration_authority": "上海市浦东新区市场监督管理局", "approval_date": "2024-05-20",
		}, credential.Issuance{ID: id.String(), IssuerName: "上海市市场监督管理局", IssuerCode: codeMarket, IssuedOn: t0})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := credential.Sign(l, credential.SignOptions{Signer: key, KeyID: gm.KeyIDString(der), Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	o := credential.VerifyOptions{Keys: b.Resolver(), Now: t0.Add(time.Hour)}
	cases := []struct {
		name string
		tok  string
		want error
	}{
		{"active", sign(f.marketKey, f.marketDER, t0), nil},
		{"retired, signed before", sign(f.oldKey, f.oldDER, t0.Add(-40*time.Minute)), nil},
		{"retired, signed after", sign(f.oldKey, f.oldDER, t0), credential.ErrKeyRetired},
		{"compromised, signed before", sign(f.badKey, f.badDER, t0.Add(-20*time.Minute)), nil},
		{"compromised, signed after", sign(f.badKey, f.badDER, t0), credential.ErrKeyCompromised},
		{"another agency's key", sign(f.policeKey, f.policeDER, t0), credential.ErrIssuerMismatch},
	}
	for _, c := range cases {
		if _, err := credential.Verify(c.tok, o); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestStatusKeys(t *testing.T) {
	f := newFixture(t)
	b, err := Verify(f.sign(t, f.bundle(1)), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := b.StatusList("sh-amr-1")
	if !ok {
		t.Fatal("status list sh-amr-1 missing")
	}
	if byURI, ok := b.StatusListByURI(ref.URI); !ok || byURI != ref {
		t.Fatal("StatusListByURI")
	}
	if _, ok := b.StatusList("nope"); ok {
		t.Fatal("unknown list found")
	}
	l := statuslist.New(1024)
	_ = l.Set(5, statuslist.Revoked)
	meta := statuslist.Meta{URI: ref.URI, Version: 1, IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	tok, err := statuslist.Sign(l, meta, f.ledgerKey, gm.KeyIDString(f.ledgerDER))
	if err != nil {
		t.Fatal(err)
	}
	got, err := statuslist.Parse(tok, statuslist.VerifyOptions{URI: ref.URI, Keys: b.StatusKeys(ref.ID), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := got.Status(5); s != statuslist.Revoked {
		t.Errorf("entry 5 = %v", s)
	}
	// The police list is signed by the police key, not the ledger's.
	if _, err := statuslist.Parse(tok, statuslist.VerifyOptions{URI: ref.URI, Keys: b.StatusKeys("sh-psb-1"), Now: t0}); !errors.Is(err, statuslist.ErrUnknownKey) {
		t.Errorf("ledger-signed list under the police list's keys: %v", err)
	}
	// An agency key cannot sign the ledger-signed list.
	forged, _ := statuslist.Sign(l, meta, f.marketKey, gm.KeyIDString(f.marketDER))
	if _, err := statuslist.Parse(forged, statuslist.VerifyOptions{URI: ref.URI, Keys: b.StatusKeys(ref.ID), Now: t0}); !errors.Is(err, statuslist.ErrUnknownKey) {
		t.Errorf("agency-signed list: %v", err)
	}
	if b.StatusKeys("nope")(gm.KeyIDString(f.ledgerDER)) != nil {
		t.Error("unknown list has keys")
	}
}

// resignRaw re-signs a token after edit changes its payload text.
func resignRaw(t *testing.T, f *fixture, tok string, edit func(string) string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	signed := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(edit(string(raw))))
	sig, err := gm.SignRS(f.ledgerKey, []byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestStaleInstant: a bundle is stale from next_update on, the instant
// included (read as a JWT's exp).
func TestStaleInstant(t *testing.T) {
	f := newFixture(t)
	b := f.bundle(1)
	tok := f.sign(t, b)
	for _, tt := range []struct {
		at    time.Time
		stale bool
	}{
		{b.NextUpdate.Add(-time.Second), false},
		{b.NextUpdate, true},
	} {
		o := f.opts()
		o.Now = tt.at
		got, err := Verify(tok, o)
		if got == nil || errors.Is(err, ErrStale) != tt.stale || got.Expired(tt.at) != tt.stale {
			t.Errorf("at %s: %v", tt.at, err)
		}
	}
}

// TestStrictJSON: a repeated member is refused; names are case-sensitive,
// so a member differing only in case is unknown and ignored (GM-08).
func TestStrictJSON(t *testing.T) {
	f := newFixture(t)
	tok := f.sign(t, f.bundle(5))
	for _, tt := range []struct {
		name string
		edit func(string) string
		want error
	}{
		{"seq twice", func(p string) string { return strings.Replace(p, `"seq":`, `"seq":9,"seq":`, 1) }, ErrMalformed},
		{"Seq beside seq", func(p string) string { return strings.Replace(p, `{`, `{"Seq":9,`, 1) }, nil},
	} {
		got, err := Verify(resignRaw(t, f, tok, tt.edit), f.opts())
		if tt.want == nil && (err != nil || got.Seq != 5) || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
