package seal_test

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/verifier/seal"
)

func TestVerifyValid(t *testing.T) {
	w := newWorld(t)
	r, err := seal.Verify(w.sig.Raw, w.doc, w.opts())
	if err != nil || r.Verdict != seal.Valid || r.Err != nil {
		t.Fatalf("verdict %s, %v", r.Verdict, err)
	}
	if r.Version != ses.V4 || r.ESID != w.seal.Info.ESID || r.SealName != "测试有限公司合同专用章" || r.SealType != ses.TypeContract {
		t.Errorf("result: %+v", r)
	}
	if r.MakerTrust != "chain" || r.SealSignedForm != ses.SignedSealInfo || !r.SignedAt.Equal(w.signedAt) {
		t.Errorf("trust %q form %v signedAt %v", r.MakerTrust, r.SealSignedForm, r.SignedAt)
	}
	if !bytes.Equal(r.SignerCert.Raw, w.signer.der) || !bytes.Equal(r.MakerCert.Raw, w.maker.der) {
		t.Error("certificates in the result")
	}
	// VerifyDigest is the same check given the digest.
	h := gm.SM3(w.doc)
	if r, err := seal.VerifyDigest(w.sig.Raw, h[:], w.opts()); err != nil || r.Verdict != seal.Valid {
		t.Fatalf("VerifyDigest: %v", err)
	}
	// The maker certificate trusted directly instead of through a root.
	if r, err := seal.Verify(w.sig.Raw, w.doc, seal.Options{TrustedMakers: []*gm.Certificate{w.maker.cert}}); err != nil || r.MakerTrust != "direct" {
		t.Fatalf("trusted maker: %v %q", err, r.MakerTrust)
	}
	// A seal listing its signers by SM3 digest (certListType 2).
	info, err := ses.NewSealInfo(func() ses.SealParams {
		p := w.sealParams(w.nb.Add(time.Hour), w.na.Add(-time.Hour), w.other.der, w.signer.der)
		p.CertListType = ses.CertListDigests
		return p
	}())
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ses.SignSeal(info, w.maker.der, w.maker.key)
	if err != nil {
		t.Fatal(err)
	}
	sig2, err := ses.SignDocument(s2, w.signer.der, w.signer.key, w.doc, w.signedAt, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Verify(sig2.Raw, w.doc, w.opts()); err != nil {
		t.Fatalf("certListType 2: %v", err)
	}
}

func TestVerifyV1(t *testing.T) {
	w := newWorld(t)
	s := w.v1Seal(t)
	der := v1Signature(t, s.Raw, w.signedAt, w.signer, w.doc)
	r, err := seal.Verify(der, w.doc, w.opts())
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != ses.V1 || r.SealSignedForm != ses.SignedV1Form || !r.SignedAt.Equal(w.signedAt) {
		t.Fatalf("version %v form %v at %v", r.Version, r.SealSignedForm, r.SignedAt)
	}
	if r, _ := seal.Verify(der, append(bytes.Clone(w.doc), 1), w.opts()); r.Verdict != seal.DocumentModified {
		t.Fatalf("v1 modified document: %s", r.Verdict)
	}
	if r, _ := seal.Verify(v1Signature(t, s.Raw, w.signedAt, w.other, w.doc), w.doc, w.opts()); r.Verdict != seal.SignerNotInSeal {
		t.Fatalf("v1 other signer: %s", r.Verdict)
	}
}

// Each failure, in the order GB/T 38540 checks, gives its own verdict.
func TestVerifyFailures(t *testing.T) {
	w := newWorld(t)
	otherRoot := issue(t, "another root", nil, true, w.nb, w.na)

	marshal := func(s *ses.Signature) []byte {
		t.Helper()
		der, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	replace := func(der []byte, old, new string) []byte {
		t.Helper()
		if !bytes.Contains(der, []byte(old)) {
			t.Fatalf("%q not found", old)
		}
		return bytes.Replace(der, []byte(old), []byte(new), 1)
	}

	tamperedSeal := *w.seal
	tamperedSeal.RawSealInfo = nil
	tamperedSeal.Info.Property.Name = "篡改后的印章"
	swappedMaker := *w.seal
	swappedMaker.MakerCert = w.other.der

	shortSeal := w.makeSeal(t, w.nb.Add(time.Hour), w.nb.Add(2*time.Hour), w.signer.der)
	lateSeal := w.makeSeal(t, w.nb.Add(10*time.Hour), w.na.Add(-time.Hour), w.signer.der)
	oldSigner := issue(t, "short-lived signer", w.root, false, w.nb, w.nb.Add(3*time.Hour))
	newSigner := issue(t, "future signer", w.root, false, w.nb.Add(10*time.Hour), w.na)
	sealForOld := w.makeSeal(t, w.nb.Add(time.Hour), w.na.Add(-time.Hour), oldSigner.der, newSigner.der)

	unsupported := *w.sig
	unsupported.SignAlg = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2} // ecdsa-with-SHA256
	swappedCert := *w.sig
	swappedCert.SignerCert = w.other.der

	revokedSince := func(since time.Time) seal.SealStatus {
		return seal.SealStatusFunc(func(esID string) (bool, time.Time, bool) { return esID == w.seal.Info.ESID, since, true })
	}
	withOpts := func(mod func(*seal.Options)) seal.Options {
		o := w.opts()
		mod(&o)
		return o
	}

	cases := []struct {
		name   string
		der    []byte
		doc    []byte
		opts   seal.Options
		want   seal.Verdict
		detail string
	}{
		{"truncated", w.sig.Raw[:len(w.sig.Raw)-10], w.doc, w.opts(), seal.Malformed, "SES_Signature: truncated"},
		{"re-tagged propertyInfo", replace(w.sig.Raw, "\x16\x0fapplication.txt", "\x0c\x0fapplication.txt"), w.doc, w.opts(), seal.Malformed,
			"SES_Signature.toSign.propertyInfo: want IA5String, found UTF8String"},
		{"garbage signer certificate", marshal(func() *ses.Signature { v := *w.sig; v.SignerCert = []byte("x"); return &v }()), w.doc, w.opts(), seal.Malformed, "SES_Signature.cert"},
		{"unsupported algorithm", marshal(&unsupported), w.doc, w.opts(), seal.UnsupportedAlgorithm, "1.2.840.10045.4.3.2"},
		{"tampered TBS_Sign", replace(w.sig.Raw, "application.txt", "applicatiom.txt"), w.doc, w.opts(), seal.BadSignature, ""},
		{"swapped signer certificate", marshal(&swappedCert), w.doc, w.opts(), seal.BadSignature, ""},
		{"signer not in the seal", signTBS(t, w.tbs(w.seal, w.signedAt, w.doc), w.other).Raw, w.doc, w.opts(), seal.SignerNotInSeal, "other signer"},
		{"tampered seal", signTBS(t, w.tbs(&tamperedSeal, w.signedAt, w.doc), w.signer).Raw, w.doc, w.opts(), seal.BadSealSignature, ""},
		{"swapped maker certificate", signTBS(t, w.tbs(&swappedMaker, w.signedAt, w.doc), w.signer).Raw, w.doc, w.opts(), seal.BadSealSignature, ""},
		{"wrong maker root", w.sig.Raw, w.doc, seal.Options{Roots: []*gm.Certificate{otherRoot.cert}}, seal.MakerUntrusted, ""},
		{"no trust anchors", w.sig.Raw, w.doc, seal.Options{}, seal.MakerUntrusted, "no trusted roots"},
		{"maker not valid at At", w.sig.Raw, w.doc, withOpts(func(o *seal.Options) { o.At = w.na.Add(time.Hour) }), seal.MakerUntrusted, ""},
		{"trusted maker expired at At", w.sig.Raw, w.doc, seal.Options{TrustedMakers: []*gm.Certificate{w.maker.cert}, At: w.na.Add(time.Hour)}, seal.MakerUntrusted, "not at"},
		{"seal expired at timeInfo", signTBS(t, w.tbs(shortSeal, w.nb.Add(3*time.Hour), w.doc), w.signer).Raw, w.doc, w.opts(), seal.SealExpired, "seal valid until"},
		{"seal not yet valid at timeInfo", signTBS(t, w.tbs(lateSeal, w.nb.Add(5*time.Hour), w.doc), w.signer).Raw, w.doc, w.opts(), seal.SealNotYetValid, "seal valid from"},
		{"signer certificate expired", signTBS(t, w.tbs(sealForOld, w.nb.Add(5*time.Hour), w.doc), oldSigner).Raw, w.doc, w.opts(), seal.SignerCertExpired, ""},
		{"signer certificate not yet valid", signTBS(t, w.tbs(sealForOld, w.nb.Add(5*time.Hour), w.doc), newSigner).Raw, w.doc, w.opts(), seal.SignerCertNotYetValid, ""},
		{"modified document", w.sig.Raw, append(bytes.Clone(w.doc), ' '), w.opts(), seal.DocumentModified, ""},
		{"empty document", w.sig.Raw, nil, w.opts(), seal.DocumentModified, ""},
		{"revoked seal", w.sig.Raw, w.doc, withOpts(func(o *seal.Options) { o.Status = revokedSince(w.signedAt.Add(time.Hour)) }), seal.SealRevoked, "revoked since"},
		{"revoked seal, no date", w.sig.Raw, w.doc, withOpts(func(o *seal.Options) { o.Status = revokedSince(time.Time{}) }), seal.SealRevoked, "is revoked"},

		// Several faults: the first in the order wins.
		{"expired seal and modified document", signTBS(t, w.tbs(shortSeal, w.nb.Add(3*time.Hour), w.doc), w.signer).Raw, []byte("x"), w.opts(), seal.SealExpired, ""},
		{"modified document of a revoked seal", w.sig.Raw, []byte("x"), withOpts(func(o *seal.Options) { o.Status = revokedSince(time.Time{}) }), seal.DocumentModified, ""},
		{"untrusted maker and foreign signer", signTBS(t, w.tbs(w.seal, w.signedAt, w.doc), w.other).Raw, w.doc, seal.Options{}, seal.SignerNotInSeal, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := seal.Verify(c.der, c.doc, c.opts)
			if r == nil {
				t.Fatal("nil result")
			}
			if r.Verdict != c.want {
				t.Fatalf("verdict %s, want %s (%v)", r.Verdict, c.want, err)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("errors.Is(%v, %s) is false", err, c.want)
			}
			var e *seal.Error
			if !errors.As(err, &e) || e.Verdict != c.want || r.Err != e {
				t.Fatalf("error %T %v", err, err)
			}
			if !strings.Contains(err.Error(), c.detail) || !strings.HasPrefix(err.Error(), "seal: "+string(c.want)) {
				t.Fatalf("message %q, want it to contain %q", err, c.detail)
			}
			if c.want == seal.Malformed && !strings.Contains(c.name, "certificate") && !errors.Is(err, ses.ErrMalformed) {
				t.Fatalf("MALFORMED should wrap ses.ErrMalformed: %v", err)
			}
		})
	}
}

func TestVerifyStatus(t *testing.T) {
	w := newWorld(t)
	o := w.opts()
	o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return false, time.Time{}, false })
	r, err := seal.Verify(w.sig.Raw, w.doc, o)
	if err != nil || !r.StatusChecked || r.StatusKnown || len(r.Notes) == 0 {
		t.Fatalf("unknown status: %v %+v", err, r)
	}
	o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return false, time.Time{}, true })
	if r, err := seal.Verify(w.sig.Raw, w.doc, o); err != nil || !r.StatusKnown || len(r.Notes) != 0 {
		t.Fatalf("good status: %v %+v", err, r)
	}
	// Revoked after the verification time: valid as of then.
	o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return true, time.Now().Add(time.Hour), true })
	if _, err := seal.Verify(w.sig.Raw, w.doc, o); err != nil {
		t.Fatalf("revoked in the future: %v", err)
	}
	o.At = time.Now().Add(2 * time.Hour)
	if r, _ := seal.Verify(w.sig.Raw, w.doc, o); r.Verdict != seal.SealRevoked {
		t.Fatalf("revoked as of later: %s", r.Verdict)
	}
}

func TestVerdictMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range seal.Verdicts {
		en, zh := v.Message(), v.MessageZH()
		if en == "" || zh == "" || strings.HasPrefix(en, "Unknown") || seen[en] || seen[zh] {
			t.Errorf("%s: %q / %q", v, en, zh)
		}
		seen[en], seen[zh] = true, true
		if v.String() != string(v) || !strings.Contains(v.Error(), string(v)) {
			t.Errorf("%s: String/Error", v)
		}
	}
	if len(seal.Verdicts) != 14 {
		t.Errorf("%d verdicts", len(seal.Verdicts))
	}
	if seal.Verdict("NOPE").Message() == "" || seal.Verdict("NOPE").MessageZH() == "" {
		t.Error("unknown verdict message")
	}
}
