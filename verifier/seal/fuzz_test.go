package seal_test

// FuzzVerify drives the whole verification path. Run by hand with
//
//	go test -run='^$' -fuzz='^FuzzVerify$' -fuzztime=20s -fuzzminimizetime=3s ./verifier/seal/
//
// Beyond "no panic": the result is never nil, the error is nil exactly
// when the verdict is VALID, and every verdict is a known one.

import (
	"errors"
	"slices"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/seal"
)

func FuzzVerify(f *testing.F) {
	w := newWorld(f)
	tsaRoot := issue(f, "TSA root", nil, true, w.nb, w.na)
	tsa := issue(f, "tsa", tsaRoot, false, w.nb, w.na)
	f.Add(w.sig.Raw, w.doc)
	f.Add(withTimestamp(f, w.sig, makeToken(f, tsa, w.sig.Value, w.signedAt, tokenOpts{})), w.doc)
	f.Add(v1Signature(f, w.v1Seal(f).Raw, w.signedAt, w.signer, w.doc), w.doc)
	f.Add(readSample(f, "doc-v4/SignedValue.dat"), readSample(f, "doc-v4/Signature.xml"))
	f.Add([]byte{0x30, 0x00}, []byte{})

	ofdMaker, err := gm.ParseCertificate(mustSampleMakerDER(f))
	if err != nil {
		f.Fatal(err)
	}
	opts := w.opts()
	opts.TrustedMakers = []*gm.Certificate{ofdMaker}
	opts.TSARoots = []*gm.Certificate{tsaRoot.cert}
	opts.Status = seal.SealStatusFunc(func(esID string) (bool, time.Time, bool) { return len(esID)%2 == 1, w.signedAt, true })
	f.Fuzz(func(t *testing.T, sigDER, doc []byte) {
		for _, o := range []seal.Options{opts, {AtSigningTime: true, TrustedMakers: opts.TrustedMakers}} {
			r, err := seal.Verify(sigDER, doc, o)
			if r == nil {
				t.Fatal("nil result")
			}
			if (err == nil) != (r.Verdict == seal.Valid) || !slices.Contains(seal.Verdicts, r.Verdict) {
				t.Fatalf("verdict %q with error %v", r.Verdict, err)
			}
			if err != nil && !errors.Is(err, r.Verdict) {
				t.Fatalf("error %v does not wrap %s", err, r.Verdict)
			}
		}
	})
}

func mustSampleMakerDER(tb testing.TB) []byte {
	tb.Helper()
	sig := readSample(tb, "doc-v4/SignedValue.dat")
	// The maker certificate is the OCTET STRING after esealInfo.
	const off, hl, n = 3893, 4, 1055
	return sig[off+hl : off+hl+n]
}
