package seal_test

import (
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/seal"
)

// TestTimestampBySignerItself: a thief holding a seal's signer key, the
// seal revoked since, back-dates a time-stamp of the signature with that
// same key. Where the issuer root is also a TSA root (the conformance
// kit's TSA roots are root.pem), or under any TSA root that also
// certifies end entities, the token is "trusted": no certificate in the
// chain needs id-kp-timeStamping (RFC 3161 §2.3), so the revoked seal
// is VALID (SEAL-15).
func TestTimestampBySignerItself(t *testing.T) {
	w := newWorld(t)
	revokedAt := w.signedAt.Add(2 * time.Hour)
	forged := withTimestamp(t, w.sig, makeToken(t, w.signer, w.sig.Value, w.signedAt.Add(time.Minute), tokenOpts{}))
	o := w.opts()
	o.TSARoots = []*gm.Certificate{w.root.cert}
	o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return true, revokedAt, true })
	r, _ := seal.Verify(forged, w.doc, o)
	if r.Verdict == seal.Valid || r.TimestampTrusted {
		t.Errorf("a revoked seal with a time-stamp its own signer key made: %s, time-stamp trusted %v; want SEAL_REVOKED / BAD_TIMESTAMP (the signer certificate is no TSA)", r.Verdict, r.TimestampTrusted)
	}
}
