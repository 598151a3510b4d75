package ses_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// The vendor variants the tolerant reader accepts, each re-encoded as it
// came and with its form recorded.
func TestVariantsRoundTrip(t *testing.T) {
	p := newPKI(t)
	s := p.seal(t, ses.CertListCerts)
	sig, err := ses.SignDocument(s, p.signer.der, p.signer.key, testDoc, p.nb.Add(2*time.Hour), "x")
	if err != nil {
		t.Fatal(err)
	}
	ext := ses.ExtData{ID: ses.MustParseOID("1.2.156.10197.6.7.2.2.1"), Value: []byte("2.1"), CriticalEncoded: true}
	crit := ses.ExtData{ID: ses.MustParseOID("2.25.1234567890123456789012345678901234567"), Critical: true, Value: []byte{1}}

	for _, form := range []ses.Form{ses.FormStandard, ses.FormUntagged, ses.FormExplicit, ses.FormImplicit} {
		// TBS_Sign.extDatas and timeStamp in every tagging.
		v := *sig
		v.TBS.ExtDatas = &ses.Extensions{Form: form, List: []ses.ExtData{ext, crit}}
		v.Timestamp = &ses.Timestamp{Form: form, Token: []byte{0x30, 0x00}}
		der, err := v.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ses.ParseSignature(der)
		if err != nil {
			t.Fatalf("form %d: %v", form, err)
		}
		assertRoundTrip(t, der, back.Marshal)
		wantTBS := form
		if form == ses.FormExplicit {
			wantTBS = ses.FormStandard // [0] EXPLICIT is the standard form here
		}
		if back.TBS.ExtDatas.Form != wantTBS || back.Timestamp.Form != wantTBS || len(back.TBS.ExtDatas.List) != 2 {
			t.Errorf("form %d read back as ext %d, timestamp %d", form, back.TBS.ExtDatas.Form, back.Timestamp.Form)
		}
		if !back.TBS.ExtDatas.List[0].CriticalEncoded || !back.TBS.ExtDatas.List[1].Critical ||
			back.TBS.ExtDatas.List[1].ID.String() != "2.25.1234567890123456789012345678901234567" {
			t.Errorf("ExtData: %+v", back.TBS.ExtDatas.List)
		}

		// SES_SealInfo.extDatas likewise.
		seal := *s
		seal.RawSealInfo = nil
		seal.Info.ExtDatas = &ses.Extensions{Form: form, List: []ses.ExtData{ext}}
		sder, err := seal.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sback, err := ses.ParseSeal(sder)
		if err != nil {
			t.Fatalf("seal form %d: %v", form, err)
		}
		assertRoundTrip(t, sder, sback.Marshal)
		wantSeal := form
		if form == ses.FormUntagged {
			wantSeal = ses.FormStandard
		}
		if sback.Info.ExtDatas.Form != wantSeal {
			t.Errorf("seal form %d read back as %d", form, sback.Info.ExtDatas.Form)
		}
	}

	// An empty ExtensionDatas is kept, distinct from an absent one.
	v := *sig
	v.TBS.ExtDatas = &ses.Extensions{Form: ses.FormImplicit}
	der, _ := v.Marshal()
	back, err := ses.ParseSignature(der)
	if err != nil || back.TBS.ExtDatas == nil || len(back.TBS.ExtDatas.List) != 0 {
		t.Fatalf("empty implicit extDatas: %v %+v", err, back)
	}
	assertRoundTrip(t, der, back.Marshal)

	// A bare r‖s signature value (some producers) verifies.
	rs, err := gm.DERToRS(sig.Value)
	if err != nil {
		t.Fatal(err)
	}
	v = *sig
	v.Value = rs
	der, _ = v.Marshal()
	back, err = ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.CheckSignature(p.signer.cert); err != nil {
		t.Fatalf("r‖s signature: %v", err)
	}

	// A v4 seal whose maker signed in the v1 way verifies, and says so.
	v1form, err := s.SignedMessage(ses.SignedV1Form)
	if err != nil {
		t.Fatal(err)
	}
	other := *s
	if other.SignedValue, err = gm.Sign(p.maker.key, v1form); err != nil {
		t.Fatal(err)
	}
	if form, err := other.CheckSignature(p.maker.cert); err != nil || form != ses.SignedV1Form {
		t.Fatalf("v4 seal signed the v1 way: %v %v", form, err)
	}
}

// v1 signatures write timeInfo in many ways; all are read and kept.
func TestV1SignatureTimeInfoForms(t *testing.T) {
	p := newPKI(t)
	seal := readSample(t, "seal-v1.esl")
	at := time.Date(2020, 10, 12, 11, 14, 3, 0, time.UTC)
	utc := func(s string) []byte { return tlv(0x17, []byte(s)) }
	forms := map[string][]byte{
		"BIT STRING(DER UTCTime) (ofdrw)": tlv(0x03, append([]byte{0}, utc("201012111403Z")...)),
		"BIT STRING(text)":                tlv(0x03, append([]byte{0}, "20201012111403Z"...)),
		"OCTET STRING(text)":              tlv(0x04, []byte("201012191403+0800")),
		"UTCTime":                         utc("201012111403Z"),
		"GeneralizedTime, no zone (CST)":  tlv(0x18, []byte("20201012191403")),
	}
	for name, ti := range forms {
		der := v1Signature(t, seal, ti, p.signer, testDoc, false)
		sig, err := ses.ParseSignature(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sig.Version != ses.V1 || !sig.TBS.TimeInfo.Time().Equal(at) {
			t.Errorf("%s: version %v time %v", name, sig.Version, sig.TBS.TimeInfo.Time())
		}
		assertRoundTrip(t, der, sig.Marshal)
		if err := sig.CheckSignature(p.signer.cert); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !sig.DigestMatches(testDoc) {
			t.Errorf("%s: digest", name)
		}
	}
	// dataHash as OCTET STRING.
	der := v1Signature(t, seal, forms["UTCTime"], p.signer, testDoc, true)
	sig, err := ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	assertRoundTrip(t, der, sig.Marshal)
	if !sig.DigestMatches(testDoc) {
		t.Error("OCTET STRING dataHash")
	}
}

func tlv(tag byte, content []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(tag), func(b *cryptobyte.Builder) { b.AddBytes(content) })
	return b.BytesOrPanic()
}

// v1Signature builds a GM/T 0031 SES_Signature over doc with the given
// seal and timeInfo element, signed by signer.
func v1Signature(t testing.TB, seal, timeInfo []byte, signer *party, doc []byte, octetHash bool) []byte {
	t.Helper()
	h := gm.SM3(doc)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddBytes(seal)
		b.AddBytes(timeInfo)
		if octetHash {
			b.AddASN1OctetString(h[:])
		} else {
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddUint8(0); b.AddBytes(h[:]) })
		}
		b.AddASN1(cbasn1.Tag(22), func(b *cryptobyte.Builder) { b.AddBytes([]byte("/doc")) })
		b.AddASN1OctetString(signer.der)
		b.AddASN1ObjectIdentifier(ses.OIDSM3WithSM2)
	})
	tbs := b.BytesOrPanic()
	sig, err := gm.Sign(signer.key, tbs)
	if err != nil {
		t.Fatal(err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddUint8(0); b.AddBytes(sig) })
	})
	return out.BytesOrPanic()
}

// Malformed input gives a *MalformedError naming the element.
func TestMalformedPaths(t *testing.T) {
	seal := readSample(t, "seal-v4.esl")
	sig := readSample(t, "signature-v4.der")
	set := func(b []byte, off int, v byte) []byte {
		c := bytes.Clone(b)
		c[off] = v
		return c
	}
	cases := []struct {
		name, path, reason string
		der                []byte
		signature          bool
	}{
		{"empty", "SES_Seal", "missing", nil, false},
		{"not DER", "SES_Seal", "want SEQUENCE", []byte("hello"), false},
		{"trailing byte", "SES_Seal", "1 bytes of trailing data", append(bytes.Clone(seal), 0), false},
		{"truncated", "SES_Seal", "truncated", seal[:len(seal)-1], false},
		{"esID re-tagged UTF8String", "SES_Seal.esealInfo.esID", "want IA5String, found UTF8String", set(seal, 29, 0x0c), false},
		{"certList re-tagged SET", "SES_Seal.esealInfo.property.certList", "want SEQUENCE, found SET", set(seal, 98, 0x31), false},
		{"certListType 3", "SES_Seal.esealInfo.property.certListType", "want 1", set(seal, 97, 3), false},
		{"header version re-tagged", "SES_Seal.esealInfo.header.version", "want INTEGER", set(seal, 14, 0x04), false},
		{"validEnd month 13", "SES_Seal.esealInfo.property.validEnd", "GeneralizedTime", set(seal, 674, '3'), false},
		{"signedValue unused bits", "SES_Seal.signedValue", "unused bits", set(seal, 16939, 1), false},
		{"picture width re-tagged", "SES_Seal.esealInfo.picture.width", "want INTEGER", set(seal, 16391, 0x04), false},
		{"no cert or signInfo", "SES_Seal", "want cert OCTET STRING (v4) or signInfo SEQUENCE (v1)", set(seal, 16397, 0x03), false},

		{"signature empty", "SES_Signature", "missing", nil, true},
		{"timeInfo re-tagged", "SES_Signature.toSign.timeInfo", "want GeneralizedTime or UTCTime, found OCTET STRING", set(sig, 17022, 0x04), true},
		{"dataHash re-tagged", "SES_Signature.toSign.dataHash", "want BIT STRING", set(sig, 17039, 0x02), true},
		{"seal inside re-tagged", "SES_Signature.toSign.eseal.esealInfo.esID", "want IA5String", set(sig, 40, 0x0c), true},
		{"propertyInfo non-ASCII", "SES_Signature.toSign.propertyInfo", "non-ASCII", set(sig, 17076, 0xe4), true},
		{"signature truncated", "SES_Signature", "truncated", sig[:len(sig)-3], true},
		{"signer cert re-tagged", "SES_Signature", "want cert OCTET STRING (v4) or signature BIT STRING (v1)", set(sig, 17109, 0x02), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.signature {
				_, err = ses.ParseSignature(c.der)
			} else {
				_, err = ses.ParseSeal(c.der)
			}
			var me *ses.MalformedError
			if !errors.As(err, &me) || !errors.Is(err, ses.ErrMalformed) {
				t.Fatalf("error %v, want a *MalformedError", err)
			}
			if me.Path != c.path || !strings.Contains(me.Reason, c.reason) {
				t.Fatalf("got %q, want path %q and reason containing %q", err, c.path, c.reason)
			}
			if !strings.HasPrefix(err.Error(), "ses: "+c.path+": ") {
				t.Fatalf("message %q", err)
			}
		})
	}
}

// Every prefix of a valid seal or signature is malformed, never a panic.
func TestTruncations(t *testing.T) {
	for _, name := range []string{"seal-v4.esl", "seal-v1.esl"} {
		der := readSample(t, name)
		for n := 0; n < len(der); n++ {
			if _, err := ses.ParseSeal(der[:n]); !errors.Is(err, ses.ErrMalformed) {
				t.Fatalf("%s[:%d]: %v", name, n, err)
			}
		}
	}
	der := readSample(t, "doc-v4/SignedValue.dat")
	for n := 0; n < len(der); n++ {
		if _, err := ses.ParseSignature(der[:n]); !errors.Is(err, ses.ErrMalformed) {
			t.Fatalf("SignedValue.dat[:%d]: %v", n, err)
		}
	}
}

// A seal is not a signature and the reverse.
func TestWrongKind(t *testing.T) {
	if _, err := ses.ParseSignature(readSample(t, "seal-v4.esl")); !errors.Is(err, ses.ErrMalformed) {
		t.Errorf("seal as signature: %v", err)
	}
	if _, err := ses.ParseSeal(readSample(t, "signature-v4.der")); !errors.Is(err, ses.ErrMalformed) {
		t.Errorf("signature as seal: %v", err)
	}
}

func TestOID(t *testing.T) {
	for _, s := range []string{"1.2.156.10197.1.501", "2.25.231216618038784628019341232665171690215", "0.0", "2.999.3", "1.39"} {
		o, err := ses.ParseOID(s)
		if err != nil || o.String() != s {
			t.Errorf("%s: %v %s", s, err, o)
		}
	}
	if o := ses.MustParseOID("1.2.156.10197.1.501"); !bytes.Equal(o, []byte{0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75}) {
		t.Errorf("SM3withSM2 encodes as %x", []byte(o))
	}
	for _, s := range []string{"", "1", "3.1", "1.40", "1.-2", "1.02", "a.b", "1..2", "1.+2"} {
		if _, err := ses.ParseOID(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestTimes(t *testing.T) {
	at := time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)
	if g := ses.GeneralizedTime(at.In(time.FixedZone("X", 3600))); g.String() != "20210203040506Z" || !g.Time().Equal(at) || !g.Generalized() {
		t.Errorf("GeneralizedTime: %s", g)
	}
	if u := ses.UTCTime(at); u.String() != "210203040506Z" || u.Generalized() {
		t.Errorf("UTCTime: %s", u)
	}
	if !ses.UTCTime(time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		t.Error("UTCTime of 2050")
	}
	for in, want := range map[string]time.Time{
		"20210203040506Z":       at,
		"20210203040506.25Z":    at.Add(250 * time.Millisecond),
		"20210203120506+0800":   at,
		"20210203120506":        at, // no zone: China Standard Time
		"20210203030506,5-0100": at.Add(500 * time.Millisecond),
	} {
		got, err := ses.ParseGeneralizedTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "2021020304050", "20210230040506Z", "20211303040506Z", "20210203250506Z", "20210203040506Y", "20210203040506.Z", "20210203040506+2400"} {
		if _, err := ses.ParseGeneralizedTime(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
