package ses_test

// Fuzz targets for both decoders. Run one by hand with
//
//	go test -run='^$' -fuzz='^FuzzParseSeal$' -fuzztime=20s -fuzzminimizetime=3s ./certs/ses/
//
// (inputs are 2–17 KB and each run checks SM2 signatures, so the default
// 60 s minimisation of every new input would use up a short session)
//
// The property checked beyond "no panic": whatever parses re-encodes to
// exactly the input, and the checks a verifier runs on it return.

import (
	"bytes"
	"testing"
	"time"

	"elicense/certs/ses"
)

func sealSeeds(f *testing.F) {
	f.Add(readSample(f, "seal-v4.esl"))
	f.Add(readSample(f, "seal-v1.esl"))
	p := newPKI(f)
	f.Add(p.seal(f, ses.CertListCerts).Raw)
	f.Add(p.seal(f, ses.CertListDigests).Raw)
	f.Add([]byte{0x30, 0x00})
}

func FuzzParseSeal(f *testing.F) {
	sealSeeds(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ses.ParseSeal(der)
		if err != nil {
			return
		}
		out, err := s.Marshal()
		if err != nil || !bytes.Equal(out, der) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
		if !bytes.Equal(s.Raw, der) {
			t.Fatal("Raw is not the input")
		}
		info, err := s.Info.Marshal()
		if err != nil || !bytes.Equal(info, s.RawSealInfo) {
			t.Fatalf("SealInfo re-encoding differs (%v)", err)
		}
		if c, err := s.MakerCertificate(); err == nil {
			_, _ = s.CheckSignature(c)
		}
		_, _ = s.HasSigner(der)
		_, _, _ = s.Info.Holder()
	})
}

func FuzzParseSignature(f *testing.F) {
	f.Add(readSample(f, "signature-v4.der"))
	f.Add(readSample(f, "doc-v4/SignedValue.dat"))
	p := newPKI(f)
	s := p.seal(f, ses.CertListCerts)
	sig, err := ses.SignDocument(s, p.signer.der, p.signer.key, testDoc, p.nb.Add(time.Hour*2), "seed")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig.Raw)
	v := *sig
	v.TBS.ExtDatas = &ses.Extensions{Form: ses.FormImplicit, List: []ses.ExtData{{ID: ses.OIDHolder, Value: []byte{1}, CriticalEncoded: true}}}
	v.Timestamp = &ses.Timestamp{Form: ses.FormUntagged, Token: []byte{0x30, 0}}
	der, err := v.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add(v1Signature(f, readSample(f, "seal-v1.esl"), tlv(0x17, []byte("201012111403Z")), p.signer, testDoc, false))
	f.Fuzz(func(t *testing.T, der []byte) {
		sig, err := ses.ParseSignature(der)
		if err != nil {
			return
		}
		out, err := sig.Marshal()
		if err != nil || !bytes.Equal(out, der) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
		tbs, err := sig.MarshalTBS()
		if err != nil || !bytes.Equal(tbs, sig.RawTBSSign) {
			t.Fatalf("TBS_Sign re-encoding differs (%v)", err)
		}
		if c, err := sig.SignerCertificate(); err == nil {
			_ = sig.CheckSignature(c)
		}
		_ = sig.DigestMatches(der)
		_, _ = sig.TBS.Seal.HasSigner(sig.SignerCert)
	})
}
