package seal_test

import (
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/seal"
)

// TestTimestampBySignerItself: a thief holding a seal's signer key, the
// seal revoked since, back-dates a time-stamp of the signature with that
// same key, under a root that is also a TSA root (as the conformance
// kit's root.pem is). The signer certificate is no time-stamping one:
// the time-stamp is untrusted, and the seal stays revoked (SEAL-15).
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

// TestTimestampNeedsTimeStampingUsage: under a pinned TSA root, only a
// certificate whose extended key usage is id-kp-timeStamping alone
// vouches for a time (RFC 3161 §2.3); one with none, or with another
// usage beside it, makes the time-stamp untrusted (checked, and not
// counting against a revocation).
func TestTimestampNeedsTimeStampingUsage(t *testing.T) {
	w := newWorld(t)
	root := issue(t, "TSA root", nil, true, w.nb, w.na)
	revokedAt := w.signedAt.Add(2 * time.Hour)
	for _, c := range []struct {
		name    string
		eku     []gm.ExtKeyUsage
		trusted bool
	}{
		{"time-stamping alone", []gm.ExtKeyUsage{gm.ExtKeyUsageTimeStamping}, true},
		{"no extended key usage", nil, false},
		{"time-stamping and server authentication", []gm.ExtKeyUsage{gm.ExtKeyUsageTimeStamping, gm.ExtKeyUsage(1)}, false},
	} {
		tsa := issue(t, "time-stamp authority", root, false, w.nb, w.na, c.eku...)
		sig := withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, w.signedAt.Add(time.Minute), tokenOpts{}))
		o := w.opts()
		o.TSARoots = []*gm.Certificate{root.cert}
		o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return true, revokedAt, true })
		r, _ := seal.Verify(sig, w.doc, o)
		want := seal.SealRevoked
		if c.trusted {
			want = seal.Valid
		}
		if r.Verdict != want || r.TimestampTrusted != c.trusted {
			t.Errorf("%s: %s, time-stamp trusted %v; want %s, %v", c.name, r.Verdict, r.TimestampTrusted, want, c.trusted)
		}
	}
}
