package verifier

import (
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/statuslist"
	"elicense/internal/gm"
	"elicense/verifier/internal/testpki"
)

// BenchmarkVerifyPresentation verifies distinct holder-bound presentations
// (parse, issuer and device SM2 verifies, disclosures, replay cache, status
// lookup), one a second apart so none is a replay, in parallel.
func BenchmarkVerifyPresentation(b *testing.B) {
	now := time.Now().Truncate(time.Second)
	w := must(testpki.New(now))
	l := must(w.Issue(w.Police, "drivers-license", "gab-1", 1, true, nil))
	bundle := must(w.Bundle(1, now.Add(-time.Hour)))
	tok := must(w.SignBundle(bundle))
	st := State{Bundle: bundle, Lists: map[string]*statuslist.Signed{}}
	_ = tok
	sl := w.Lists["gab-1"]
	st.Lists["gab-1"] = &statuslist.Signed{Meta: statuslist.Meta{URI: sl.URI, Version: 1, IssuedAt: sl.IssuedAt, ExpiresAt: sl.ExpiresAt}, List: sl.List}
	texts := make([]string, b.N)
	for i := range texts {
		texts[i] = must(l.Holding.Present(l.Device, now.Add(time.Duration(i)*time.Second)))
	}
	v := New(st, Options{})
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if got := v.Verify(texts[i], now.Add(time.Duration(i)*time.Second)); got.Code != Valid {
				b.Errorf("%s: %s", got.Code, got.Detail)
				return
			}
		}
	})
}

// BenchmarkTwoSM2Verifies is the floor BenchmarkVerifyPresentation is
// measured against: two bare SM2 verifications of short messages.
func BenchmarkTwoSM2Verifies(b *testing.B) {
	k1, k2 := must(gm.GenerateKey()), must(gm.GenerateKey())
	m1, m2 := make([]byte, 300), make([]byte, 400)
	s1, s2 := must(gm.SignRS(k1, m1)), must(gm.SignRS(k2, m2))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if gm.VerifyRS(k1.PublicKey(), m1, s1) != nil || gm.VerifyRS(k2.PublicKey(), m2, s2) != nil {
				b.Error("verify failed")
				return
			}
		}
	})
}

// BenchmarkStatusLookup looks an index up in a 10 M-entry list.
func BenchmarkStatusLookup(b *testing.B) {
	l := statuslist.New(10_000_000)
	for i := 0; i < 10_000_000; i += 200 {
		_ = l.Set(i, statuslist.Revoked)
	}
	s := &statuslist.Signed{List: l}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Status((i * 7919) % 10_000_000); err != nil {
			b.Fatal(err)
		}
	}
}
