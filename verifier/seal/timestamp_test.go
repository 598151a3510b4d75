package seal_test

import (
	"errors"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/seal"
)

func TestTimestamp(t *testing.T) {
	w := newWorld(t)
	tsaRoot := issue(t, "TSA root", nil, true, w.nb, w.na)
	tsa := issue(t, "time-stamp authority", tsaRoot, false, w.nb, w.na)
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

	otherRoot := issue(t, "other TSA root", nil, true, w.nb, w.na)
	bad := map[string]struct {
		der  []byte
		opts func() []*gm.Certificate
	}{
		"imprint of another value": {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{imprint: make([]byte, 32)})), nil},
		"signed by another key":    {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{signer: w.other})), nil},
		"messageDigest mismatch":   {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, genTime, tokenOpts{badAttrs: true})), nil},
		"not a token":              {withTimestamp(t, w.sig, []byte{0x30, 0x03, 0x02, 0x01, 0x01}), nil},
		"empty":                    {withTimestamp(t, w.sig, nil), nil},
		"before timeInfo":          {withTimestamp(t, w.sig, makeToken(t, tsa, w.sig.Value, w.signedAt.Add(-time.Hour), tokenOpts{})), nil},
		"TSA not under the roots":  {good, func() []*gm.Certificate { return []*gm.Certificate{otherRoot.cert} }},
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
