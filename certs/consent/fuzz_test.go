package consent

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// seeds are the tokens of one test flow, with a few damaged copies.
func seeds(f *testing.F, pick func(fl *flow, proof string) string) {
	fx := newFixture(f)
	fl := fx.flow(f)
	proof, err := SignProof(fx.rpKey, ProofClaims{Subject: testRP, Method: "POST", Path: "/v1/grants", IssuedAt: t0, Body: []byte("{}")})
	if err != nil {
		f.Fatal(err)
	}
	s := pick(fl, proof)
	f.Add(s)
	f.Add(s[:len(s)/2])
	f.Add(strings.Replace(s, ".", "..", 1))
	f.Add("")
	f.Add("~")
	f.Add("a.b.c")
}

// refused checks that a parser's error is a typed reason of this
// package, never anything else.
func refused(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMismatch) {
		t.Fatalf("untyped error %v", err)
	}
}

func FuzzParseProof(f *testing.F) {
	seeds(f, func(_ *flow, p string) string { return p })
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProof(s)
		if err != nil {
			refused(t, err)
			return
		}
		if p.Subject == "" || !method(p.Method) || !path(p.Path) || p.IssuedAt.IsZero() || len(p.JTI) < MinJTILen || p.BodyHash != nil && len(p.BodyHash) != 32 {
			t.Fatalf("accepted %+v", p)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	seeds(f, func(fl *flow, _ string) string { return fl.request })
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequest(s)
		if err != nil {
			refused(t, err)
			return
		}
		if !ValidRequestID(r.ID) || r.ExpiresAt.Before(r.IssuedAt) || len(r.Fields) == 0 || !r.Use.Valid() ||
			r.Duration < MinDuration || r.Duration > MaxDuration || r.KeyID == "" {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzParseConsent(f *testing.F) {
	seeds(f, func(fl *flow, _ string) string { return fl.consent })
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConsent(s)
		if err != nil {
			refused(t, err)
			return
		}
		if !ValidRequestID(c.Request) || !copyID(c.Licence) || (c.Decision == Approve) != (len(c.Fields) > 0) {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzParseGrantCredential(f *testing.F) {
	seeds(f, func(fl *flow, _ string) string { return fl.credential })
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrantCredential(s)
		if err != nil {
			refused(t, err)
			return
		}
		if g.Device == nil || !ValidGrantID(g.Grant) || !slices.IsSorted(g.SD) {
			t.Fatalf("accepted %+v", g)
		}
		keys := map[string]bool{}
		for _, d := range g.Disclosures {
			if _, ok := slices.BinarySearch(g.SD, d.Digest); !ok || keys[d.Key] {
				t.Fatalf("accepted disclosure %+v", d)
			}
			keys[d.Key] = true
		}
	})
}

func FuzzParseDisclosure(f *testing.F) {
	seeds(f, func(fl *flow, _ string) string { return fl.disclosures["name"] })
	f.Add(b64(`["AAAAAAAAAAAAAAAAAAAAAA","name","x"]`))
	f.Add(b64(`["AAAAAAAAAAAAAAAAAAAAAA","name","x","y"]`))
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDisclosure(s)
		if err != nil {
			refused(t, err)
			return
		}
		if !fieldKey(d.Key) || d.Encoded != s || d.Digest != sm3b64([]byte(s)) {
			t.Fatalf("accepted %+v", d)
		}
	})
}
