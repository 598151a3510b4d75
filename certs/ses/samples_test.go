package ses_test

import (
	"bytes"
	"testing"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// The ofdrw samples: what testdata/ofdrw/README.md says must hold, at the
// format level (verifier/seal checks the verdicts on the same files).

func TestSampleSealV4(t *testing.T) {
	der := readSample(t, "seal-v4.esl")
	s, err := ses.ParseSeal(der)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != ses.V4 || s.Info.Header.ID != "ES" || s.Info.Header.Version != 4 || s.Info.Header.VID != "OFDR&WTest" {
		t.Fatalf("header: version %v, %+v", s.Version, s.Info.Header)
	}
	p := s.Info.Property
	if p.Name != "OFD R&W 测试用印章" || p.Type != 3 || p.CertListType != ses.CertListCerts || len(p.Certs) != 1 {
		t.Fatalf("property: %q type %d certListType %d, %d certs", p.Name, p.Type, p.CertListType, len(p.Certs))
	}
	if s.Info.Picture.Type != "PNG" || !bytes.HasPrefix(s.Info.Picture.Data, []byte("\x89PNG")) || s.Info.Picture.Width != 40 {
		t.Fatalf("picture: %s %d bytes %d×%d", s.Info.Picture.Type, len(s.Info.Picture.Data), s.Info.Picture.Width, s.Info.Picture.Height)
	}
	if got := p.ValidEnd.String(); got != "20220422020900Z" || !p.ValidEnd.Generalized() {
		t.Errorf("validEnd %q", got)
	}
	assertRoundTrip(t, der, s.Marshal)
	if !bytes.Equal(s.Raw, der) || !bytes.Equal(s.RawSealInfo, der[4:4+4+16389]) {
		t.Error("Raw / RawSealInfo are not the parsed bytes")
	}
	maker, err := s.MakerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	form, err := s.CheckSignature(maker)
	if err != nil || form != ses.SignedSealInfo {
		t.Fatalf("maker signature: form %v, %v", form, err)
	}
}

func TestSampleSealV1(t *testing.T) {
	der := readSample(t, "seal-v1.esl")
	s, err := ses.ParseSeal(der)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != ses.V1 || s.Info.Header.Version != 1 {
		t.Fatalf("version %v, header %d", s.Version, s.Info.Header.Version)
	}
	p := s.Info.Property
	if p.CertListType != 0 || len(p.Certs) != 1 || p.Name != "OFDRW测试用印章" {
		t.Fatalf("property: %+v", p)
	}
	if p.ValidStart.Generalized() || p.ValidStart.String() != "200422021807Z" {
		t.Errorf("v1 dates should be UTCTime, got %q", p.ValidStart)
	}
	assertRoundTrip(t, der, s.Marshal)
	maker, err := s.MakerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	form, err := s.CheckSignature(maker)
	if err != nil || form != ses.SignedV1Form {
		t.Fatalf("maker signature: form %v, %v", form, err)
	}
}

func TestSampleSignatures(t *testing.T) {
	for _, name := range []string{"signature-v4.der", "doc-v4/SignedValue.dat"} {
		t.Run(name, func(t *testing.T) {
			der := readSample(t, name)
			sig, err := ses.ParseSignature(der)
			if err != nil {
				t.Fatal(err)
			}
			if sig.Version != ses.V4 || sig.TBS.Version != 4 || sig.TBS.Seal.Version != ses.V4 {
				t.Fatalf("versions %v / %d / %v", sig.Version, sig.TBS.Version, sig.TBS.Seal.Version)
			}
			if sig.TBS.PropertyInfo != "/Doc_0/Signs/Sign_0/Signature.xml" {
				t.Errorf("propertyInfo %q", sig.TBS.PropertyInfo)
			}
			assertRoundTrip(t, der, sig.Marshal)
			assertRoundTrip(t, sig.RawTBSSign, sig.MarshalTBS)
			signer, err := sig.SignerCertificate()
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.CheckSignature(signer); err != nil {
				t.Fatalf("signature over TBS_Sign: %v", err)
			}
			seal := sig.TBS.Seal
			maker, err := seal.MakerCertificate()
			if err != nil {
				t.Fatal(err)
			}
			if form, err := seal.CheckSignature(maker); err != nil || form != ses.SignedSealInfo {
				t.Fatalf("seal inside: form %v, %v", form, err)
			}
			if ok, err := seal.HasSigner(sig.SignerCert); !ok || err != nil {
				t.Fatalf("signer certificate not in certList: %v %v", ok, err)
			}
			// The signature is over TBS_Sign, not over anything else.
			if err := sig.CheckSignature(maker); err == nil && !bytes.Equal(maker.Raw, signer.Raw) {
				t.Error("signature verifies under the maker certificate")
			}
		})
	}
}

func TestSampleDocV4(t *testing.T) {
	doc := readSample(t, "doc-v4/Signature.xml")
	sig, err := ses.ParseSignature(readSample(t, "doc-v4/SignedValue.dat"))
	if err != nil {
		t.Fatal(err)
	}
	h := gm.SM3(doc)
	if !bytes.Equal(sig.TBS.DataHash, h[:]) || !sig.DigestMatches(doc) {
		t.Fatalf("dataHash %x, SM3(Signature.xml) %x", sig.TBS.DataHash, h)
	}
	for _, i := range []int{0, len(doc) / 2, len(doc) - 1} {
		flipped := bytes.Clone(doc)
		flipped[i] ^= 1
		if sig.DigestMatches(flipped) {
			t.Errorf("flipping byte %d still matches", i)
		}
	}
	// This seal carries vendor extDatas in SES_SealInfo, with critical
	// FALSE written out (DER would omit it); it must survive re-encoding.
	ext := sig.TBS.Seal.Info.ExtDatas
	if ext == nil || len(ext.List) != 1 || ext.Form != ses.FormStandard || !ext.List[0].CriticalEncoded ||
		ext.List[0].ID.String() != "1.2.156.10197.6.7.2.2.1" || string(ext.List[0].Value) != "2.1" {
		t.Fatalf("extDatas: %+v", ext)
	}
}

func assertRoundTrip(t *testing.T, want []byte, marshal func() ([]byte, error)) {
	t.Helper()
	got, err := marshal()
	if err != nil {
		t.Fatalf("re-encoding: %v", err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("re-encoding differs at byte %d (len %d, want %d)", i, len(got), len(want))
	}
}
