package qr

import (
	"errors"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

// made says how a test core is made: who signs it, when, and at which
// status position.
type made struct {
	signer   *gm.PrivateKey
	kid      string
	signedAt time.Time
	list     string
	index    uint64
	bind     *gm.PrivateKey // device key, for a bound core
	holder   string         // a made-up company name instead of the sample's
}

// holdingMade builds a business licence's core as m says.
func holdingMade(t testing.TB, f *fixture, m made) *Holding {
	t.Helper()
	cl := businessClass(t)
	fields := businessFields()
	if m.holder != "" {
		fields["name"] = m.holder
	}
	l := f.license(t, cl, fields)
	if m.bind != nil {
		l.Device = m.bind.PublicKey()
	}
	l.Status = &credential.StatusRef{URI: "https://elicense.example/v1/status/" + m.list, Index: m.index}
	jws, err := credential.Sign(l, credential.SignOptions{Signer: m.signer, KeyID: m.kid, Now: func() time.Time { return m.signedAt }})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Build(l, jws, BuildOptions{Signer: m.signer, KeyID: m.kid, StatusList: m.list})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// legacy turns h into a version 1 core: the same content without a
// signing time, signed again by signer.
func legacy(t testing.TB, h *Holding, signer *gm.PrivateKey) *Holding {
	t.Helper()
	var c core
	if err := decodeCanonical("core", h.Core, &c); err != nil {
		t.Fatal(err)
	}
	c.SignedAt = 0
	out := *h
	out.Core = mustMarshal(c)
	sig, err := gm.SignRS(signer, append([]byte(coreContext), out.Core...))
	if err != nil {
		t.Fatal(err)
	}
	out.IssuerSig = sig
	return &out
}

// genuineOf is a genuine set holding exactly the given holdings' cores.
func genuineOf(t testing.TB, kid string, since time.Time, hs ...*Holding) *trust.GenuineSet {
	t.Helper()
	var es []trust.GenuineEntry
	for _, h := range hs {
		in, err := h.Info()
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, trust.GenuineEntry{List: in.StatusList, Index: in.StatusIndex, Tag: trust.GenuineTag(h.Core)})
	}
	doc, err := trust.MarshalGenuineSet(kid, since, es)
	if err != nil {
		t.Fatal(err)
	}
	g, err := trust.ParseGenuineSet(doc)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestKeyAuthority: what a key may sign depends on its state at the
// core's signing time: retired (before: valid, after or unknown:
// KEY_RETIRED), outside its certificate (refused), compromised (only the
// issuer's genuine set counts, whatever time the core names).
func TestKeyAuthority(t *testing.T) {
	f := newFixture(t, "business-license")
	thief := f.issuer // a copy of the key, as a thief holds it
	retired := now.Add(-30 * 24 * time.Hour)
	compromised := now.Add(-60 * 24 * time.Hour)
	certFrom, certTo := now.AddDate(-2, 0, 0), now.AddDate(3, 0, 0)
	key := func(mod func(*credential.IssuerKey)) credential.KeySet {
		k := credential.IssuerKey{Public: f.issuer.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}, NotBefore: certFrom, NotAfter: certTo}
		if mod != nil {
			mod(&k)
		}
		return credential.KeySet{testKID: {k}}
	}
	at := func(signedAt time.Time, list string, index uint64) *Holding {
		return holdingMade(t, f, made{signer: f.issuer, kid: testKID, signedAt: signedAt, list: list, index: index})
	}
	static := func(h *Holding) string {
		s, err := h.Static()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Two genuine licences signed before the compromise, one of them a
	// version 1 core.
	genuine := at(compromised.Add(-time.Hour), "amr-1", 11)
	genuineV1 := legacy(t, at(compromised.Add(-2*time.Hour), "amr-1", 12), f.issuer)
	set := genuineOf(t, testKID, compromised, genuine, genuineV1)
	// The thief's forgeries: a made-up company at a fresh position, and
	// at a genuine licence's copied position, each backdated; and a
	// genuine core's bytes with one always-shown field changed is a
	// forgery too.
	forgedNew := holdingMade(t, f, made{signer: thief, kid: testKID, signedAt: compromised.Add(-24 * time.Hour), list: "amr-1", index: 999, holder: "上海虚构贸易有限公司"})
	forgedCopy := holdingMade(t, f, made{signer: thief, kid: testKID, signedAt: compromised.Add(-time.Hour), list: "amr-1", index: 11, holder: "上海虚构贸易有限公司"})
	forgedV1 := legacy(t, holdingMade(t, f, made{signer: thief, kid: testKID, signedAt: compromised.Add(-time.Hour), list: "amr-1", index: 12, holder: "上海虚构贸易有限公司"}), thief)
	withSet := key(func(k *credential.IssuerKey) { k.CompromisedSince, k.Genuine = compromised, set })

	cases := []struct {
		name   string
		keys   credential.KeySet
		text   string
		reason error // nil: accepted
	}{
		{"active key, signed inside the certificate", key(nil), static(at(now.Add(-time.Hour), "amr-1", 1)), nil},
		{"active key, version 1 core, certificate valid now", key(nil), static(legacy(t, at(now, "amr-1", 1), f.issuer)), nil},
		{"signed before the certificate's NotBefore", key(nil), static(at(certFrom.Add(-time.Hour), "amr-1", 1)), credential.ErrKeyNotValid},
		{"signed after the certificate's NotAfter", key(nil), static(at(certTo.Add(time.Hour), "amr-1", 1)), credential.ErrKeyNotValid},
		{"version 1 core, certificate no longer valid", key(func(k *credential.IssuerKey) { k.NotAfter = now.Add(-time.Hour) }),
			static(legacy(t, at(now.Add(-48*time.Hour), "amr-1", 1), f.issuer)), credential.ErrKeyNotValid},
		{"retired key, signed before the retirement", key(func(k *credential.IssuerKey) { k.RetiredSince = retired }), static(at(retired.Add(-time.Second), "amr-1", 1)), nil},
		{"retired key, signed at the retirement", key(func(k *credential.IssuerKey) { k.RetiredSince = retired }), static(at(retired, "amr-1", 1)), credential.ErrKeyRetired},
		{"retired key, signed after the retirement", key(func(k *credential.IssuerKey) { k.RetiredSince = retired }), static(at(retired.Add(time.Hour), "amr-1", 1)), credential.ErrKeyRetired},
		{"retired key, version 1 core (no signing time)", key(func(k *credential.IssuerKey) { k.RetiredSince = retired }),
			static(legacy(t, at(retired.Add(-time.Hour), "amr-1", 1), f.issuer)), credential.ErrKeyRetired},
		{"compromised key, genuine core", withSet, static(genuine), nil},
		{"compromised key, genuine version 1 core", withSet, static(genuineV1), nil},
		{"compromised key, no genuine set held", key(func(k *credential.IssuerKey) { k.CompromisedSince = compromised }), static(genuine), credential.ErrKeyCompromised},
		{"compromised key, forged backdated core at a new position", withSet, static(forgedNew), credential.ErrKeyCompromised},
		{"compromised key, forged core at a genuine core's position", withSet, static(forgedCopy), credential.ErrKeyCompromised},
		{"compromised key, forged version 1 core at a genuine position", withSet, static(forgedV1), credential.ErrKeyCompromised},
		{"compromised key, genuine core with its signature copied onto a changed core", withSet, reencodeStatic(t, static(genuine), func(c *core) {
			c.HolderName = "上海虚构贸易有限公司"
		}), ErrBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Decode(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tok.Verify(VerifyOptions{Keys: tc.keys, Now: now})
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.reason) {
				t.Fatalf("got %v, want %v", err, tc.reason)
			}
		})
	}
}

// reencodeStatic changes the core of a static token, keeping the issuer
// signature as it was.
func reencodeStatic(t *testing.T, text string, edit func(c *core)) string {
	t.Helper()
	tok, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	c := tok.core
	edit(&c)
	b := tok.body
	b.Core = mustMarshal(c)
	env := tok.env
	env.Body = mustMarshal(b)
	return encodeText(prefixOf(tok.version), payloadOf(tok.version, env))
}

// TestStatusReferenceRequired: a token naming no status list could never
// be revoked; Build refuses to make one and Decode refuses to read one,
// in either version.
func TestStatusReferenceRequired(t *testing.T) {
	f := newFixture(t, "business-license")
	l := f.license(t, businessClass(t), businessFields())
	if _, err := Build(l, "jws", BuildOptions{Signer: f.issuer, KeyID: testKID, StatusList: "amr-1"}); !errors.Is(err, credential.ErrBadField) {
		t.Fatalf("Build without a status index: %v", err)
	}
	l.Status = &credential.StatusRef{URI: "https://elicense.example/v1/status/amr-1", Index: 3}
	if _, err := Build(l, "jws", BuildOptions{Signer: f.issuer, KeyID: testKID}); !errors.Is(err, credential.ErrBadField) {
		t.Fatalf("Build without a status list: %v", err)
	}
	h := holdingMade(t, f, made{signer: f.issuer, kid: testKID, signedAt: now, list: "amr-1", index: 3})
	for _, h := range []*Holding{h, legacy(t, h, f.issuer)} {
		var c core
		if err := decodeCanonical("core", h.Core, &c); err != nil {
			t.Fatal(err)
		}
		c.StatusList, c.StatusIndex = "", 0
		h2 := *h
		h2.Core = mustMarshal(c)
		h2.IssuerSig, _ = gm.SignRS(f.issuer, append([]byte(coreContext), h2.Core...))
		text, err := h2.Static()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(text); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%.4s token without a status reference: %v", text, err)
		}
	}
}

// TestSignedAtCarried: the core carries the credential's signing time,
// in whole seconds, and a version 2 core without one is malformed.
func TestSignedAtCarried(t *testing.T) {
	f := newFixture(t, "business-license")
	signed := now.Add(-90 * time.Minute)
	h := holdingMade(t, f, made{signer: f.issuer, kid: testKID, signedAt: signed.Add(400 * time.Millisecond), list: "amr-1", index: 3})
	text, err := h.Static()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Version() != 2 || text[:len(Prefix)] != Prefix {
		t.Fatalf("version %d, text %.4s", tok.Version(), text)
	}
	res, err := tok.Verify(VerifyOptions{Keys: f.keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !res.SignedAt.Equal(signed) {
		t.Fatalf("signed at %v, want %v", res.SignedAt, signed)
	}
	noTime := reencodeStatic(t, text, func(c *core) { c.SignedAt = 0 })
	if _, err := Decode(noTime); !errors.Is(err, ErrMalformed) {
		t.Fatalf("version 2 core without a signing time: %v", err)
	}
	lt, err := legacy(t, h, f.issuer).Static()
	if err != nil {
		t.Fatal(err)
	}
	if lt[:len(PrefixV1)] != PrefixV1 {
		t.Fatalf("a version 1 holding is shown as %.4s", lt)
	}
}
