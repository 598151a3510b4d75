package seal_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/seal"
)

func TestTimestamp(t *testing.T) {
	w := newWorld(t)
	tsaRoot := issue(t, "TSA root", nil, true, w.nb, w.na)
	tsa := issue(t, "time-stamp authority", tsaRoot, false, w.nb, w.na, gm.ExtKeyUsageTimeStamping)
	genTime := w.signedAt.Add(time.Minute)
	good := withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{}))

	// Without TSA roots: checked, not trusted as a time source.
	r, err := seal.Verify(good, w.doc, w.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !r.TimestampAt.Equal(genTime) || r.TimestampTrusted || len(r.Notes) == 0 {
		t.Fatalf("untrusted TSA: at %v trusted %v notes %v", r.TimestampAt, r.TimestampTrusted, r.Notes)
	}
	// With them: trusted.
	o := w.opts()
	o.TSARoots = []*gm.Certificate{tsaRoot.cert}
	if r, err := seal.Verify(good, w.doc, o); err != nil || !r.TimestampTrusted {
		t.Fatalf("trusted TSA: %v %v", err, r.TimestampTrusted)
	}
	// Without signed attributes (signature over TSTInfo itself).
	plain := withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{noAttrs: true}))
	if _, err := seal.Verify(plain, w.doc, o); err != nil {
		t.Fatalf("token without signed attributes: %v", err)
	}

	// A seal revoked after a trusted time-stamp still verifies.
	o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return true, genTime.Add(time.Hour), true })
	if r, err := seal.Verify(good, w.doc, o); err != nil || r.RevokedSince.IsZero() || len(r.Notes) == 0 {
		t.Fatalf("revoked after the time-stamp: %v %+v", err, r)
	}
	// Before it, not.
	o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return true, genTime.Add(-time.Second), true })
	if r, _ := seal.Verify(good, w.doc, o); r.Verdict != seal.SealRevoked {
		t.Fatalf("revoked before the time-stamp: %s", r.Verdict)
	}
	o.Status = nil

	// An authority that chains to none of the TSA roots is untrusted, as
	// with no roots, not invalid (SEAL-16 item 5): a seal revoked after
	// its time-stamp is SEAL_REVOKED, with a note saying why.
	otherRoot := issue(t, "other TSA root", nil, true, w.nb, w.na)
	o = w.opts()
	o.TSARoots = []*gm.Certificate{otherRoot.cert}
	r, err = seal.Verify(good, w.doc, o)
	if err != nil || r.Verdict != seal.Valid || !r.TimestampAt.Equal(genTime) || r.TimestampTrusted ||
		!slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "does not chain to a pinned TSA root") }) {
		t.Fatalf("TSA not under the roots: %v %+v", err, r)
	}
	o.Status = seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return true, genTime.Add(time.Hour), true })
	if r, err := seal.Verify(good, w.doc, o); r.Verdict != seal.SealRevoked || !errors.Is(err, seal.SealRevoked) || r.TimestampTrusted || r.TimestampAt.IsZero() {
		t.Fatalf("TSA not under the roots, revoked after the time-stamp: %v %+v", err, r)
	}

	otherRoots := func() []*gm.Certificate { return []*gm.Certificate{otherRoot.cert} }
	bad := map[string]struct {
		der  []byte
		opts func() []*gm.Certificate
	}{
		"imprint of another value":            {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{imprint: make([]byte, 32)})), nil},
		"signed by another key":               {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{signer: w.other})), nil},
		"messageDigest mismatch":              {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{badAttrs: true})), nil},
		"not a token":                         {withTimestamp(t, w.sig, []byte{0x30, 0x03, 0x02, 0x01, 0x01}), nil},
		"empty":                               {withTimestamp(t, w.sig, nil), nil},
		"before timeInfo":                     {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, w.signedAt.Add(-time.Hour), tokenOpts{})), nil},
		"genTime outside the TSA certificate": {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, w.na.Add(time.Hour), tokenOpts{})), nil},
		// Integrity failures stay failures whatever the roots: the
		// authority's own certificate is all they need.
		"imprint of another value, TSA not under the roots": {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{imprint: make([]byte, 32)})), otherRoots},
		"signed by another key, TSA not under the roots":    {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{signer: w.other})), otherRoots},
		"before timeInfo, TSA not under the roots":          {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, w.signedAt.Add(-time.Hour), tokenOpts{})), otherRoots},
	}
	for name, c := range bad {
		o := w.opts()
		if c.opts != nil {
			o.TSARoots = c.opts()
		}
		r, err := seal.Verify(c.der, w.doc, o)
		if r.Verdict != seal.BadTimestamp || !errors.Is(err, seal.BadTimestamp) {
			t.Errorf("%s: %s (%v)", name, r.Verdict, err)
		}
	}
}
