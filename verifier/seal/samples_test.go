package seal_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/verifier/seal"
)

// The ofdrw samples (certs/ses/testdata/ofdrw/README.md): their
// certificates expired (in 2022 and 2025) and chain to a root we do not
// have, so they verify only "as of" their signing time and with the maker
// certificate trusted directly.

func sampleMaker(t *testing.T, sigDER []byte) *gm.Certificate {
	t.Helper()
	sig, err := ses.ParseSignature(sigDER)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sig.TBS.Seal.MakerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSampleDocV4(t *testing.T) {
	der := readSample(t, "doc-v4/SignedValue.dat")
	doc := readSample(t, "doc-v4/Signature.xml")
	trust := seal.Options{TrustedMakers: []*gm.Certificate{sampleMaker(t, der)}, AtSigningTime: true}

	r, err := seal.Verify(der, doc, trust)
	if err != nil {
		t.Fatalf("as of signing, maker trusted: %v", err)
	}
	want := time.Date(2020, 10, 10, 7, 11, 20, 0, time.UTC)
	if !r.SignedAt.Equal(want) || !r.VerifiedAt.Equal(want) || r.ESID != "50011200000399" || r.MakerTrust != "direct" {
		t.Fatalf("result: signed %v verified %v esID %q trust %q", r.SignedAt, r.VerifiedAt, r.ESID, r.MakerTrust)
	}
	if !strings.Contains(r.SealName, "发票监制章") {
		t.Errorf("seal name %q", r.SealName)
	}

	// Flipping any one byte of Signature.xml is a data-hash failure.
	for _, i := range []int{0, 100, len(doc) / 2, len(doc) - 1} {
		flipped := bytes.Clone(doc)
		flipped[i] ^= 0x01
		if r, err := seal.Verify(der, flipped, trust); r.Verdict != seal.DocumentModified || !errors.Is(err, seal.DocumentModified) {
			t.Fatalf("byte %d flipped: %s", i, r.Verdict)
		}
	}

	// Untrusted root unless the maker certificate is trusted directly.
	w := newWorld(t)
	for name, o := range map[string]seal.Options{
		"no anchors":       {AtSigningTime: true},
		"our root":         {Roots: []*gm.Certificate{w.root.cert}, AtSigningTime: true},
		"another maker":    {TrustedMakers: []*gm.Certificate{w.maker.cert}, AtSigningTime: true},
		"trusted, but now": {TrustedMakers: trust.TrustedMakers, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if r, _ := seal.Verify(der, doc, o); r.Verdict != seal.MakerUntrusted {
			t.Errorf("%s: %s", name, r.Verdict)
		}
	}
}

func TestSampleSignatureV4(t *testing.T) {
	der := readSample(t, "signature-v4.der")
	sig, err := ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	// The protected content is not among the samples; verify against the
	// digest the signature carries, which checks every other step.
	trust := seal.Options{TrustedMakers: []*gm.Certificate{sampleMaker(t, der)}, AtSigningTime: true}
	r, err := seal.VerifyDigest(der, sig.TBS.DataHash, trust)
	if err != nil {
		t.Fatal(err)
	}
	if r.ESID != "51f044b76510434e9bc67a1185c2fba5" || r.SealSignedForm != ses.SignedSealInfo {
		t.Fatalf("result %+v", r)
	}
	h := gm.SM3(nil)
	if r, _ := seal.VerifyDigest(der, h[:], trust); r.Verdict != seal.DocumentModified {
		t.Fatalf("other digest: %s", r.Verdict)
	}
	// The certificates expired in April 2022.
	if r, _ := seal.VerifyDigest(der, sig.TBS.DataHash, seal.Options{TrustedMakers: trust.TrustedMakers}); r.Verdict != seal.MakerUntrusted {
		t.Fatalf("verified now: %s", r.Verdict)
	}
	if r, _ := seal.VerifyDigest(der, sig.TBS.DataHash, seal.Options{AtSigningTime: true}); r.Verdict != seal.MakerUntrusted {
		t.Fatalf("maker not trusted: %s", r.Verdict)
	}
}

// The v1 sample seal, inside a v1 signature by a signer it does not list.
func TestSampleSealV1InSignature(t *testing.T) {
	w := newWorld(t)
	der := v1Signature(t, readSample(t, "seal-v1.esl"), time.Date(2020, 10, 1, 0, 0, 0, 0, time.UTC), w.signer, w.doc)
	if r, _ := seal.Verify(der, w.doc, seal.Options{AtSigningTime: true}); r.Verdict != seal.SignerNotInSeal || r.Version != ses.V1 {
		t.Fatalf("verdict %s version %v", r.Verdict, r.Version)
	}
}
