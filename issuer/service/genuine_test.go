package service

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/trust"
)

// TestGenuineSet: the set lists exactly the cores the key signed before
// the compromise time (an issuance and its re-issue here), each at its
// own status position with its core's tag, and nothing of another key or
// signed at or after the time.
func TestGenuineSet(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	// The service reads its clock from other goroutines too (start-up
	// housekeeping): an atomic, not a plain variable the test writes.
	var clock atomic.Pointer[time.Time]
	set := func(at time.Time) { clock.Store(&at) }
	set(now)
	e := openEnvWith(t, t.TempDir(), func(o *Options) { o.Now = func() time.Time { return *clock.Load() } })
	defer e.close(t)
	rec, op := issueOne(t, e, "business-license")
	set(now.Add(time.Minute))
	next, err := e.svc.Reissue(context.Background(), op, rec.ID, ReissueRequest{Fields: map[string]string{"legal_rep": "李四"}})
	if err != nil {
		t.Fatal(err)
	}
	set(now.Add(2 * time.Minute))
	late, _ := issueOne(t, e, "business-license") // signed at the compromise time: not listed
	other, _ := issueOne(t, e, "drivers-license") // another agency's key
	ag, _ := e.pki.Agency(rec.Agency)
	kid := ag.KeyID
	doc, n, err := GenuineSet(e.store, kid, now.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	g, err := trust.ParseGenuineSet(doc)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || g.Len() != 2 || g.KID() != kid || !g.Since().Equal(now.Add(2*time.Minute)) {
		t.Fatalf("%d entries for %s since %v", n, g.KID(), g.Since())
	}
	for name, r := range map[string]struct {
		list  string
		index uint64
		core  []byte
		want  bool
	}{
		"issuance":                     {rec.StatusList, rec.StatusIndex, rec.Holding.Core, true},
		"re-issue":                     {next.StatusList, next.StatusIndex, next.Holding.Core, true},
		"signed at the time":           {late.StatusList, late.StatusIndex, late.Holding.Core, false},
		"another agency's key":         {other.StatusList, other.StatusIndex, other.Holding.Core, false},
		"a core at another's position": {rec.StatusList, rec.StatusIndex, next.Holding.Core, false},
	} {
		if got := g.HasQRCore(r.list, r.index, r.core); got != r.want {
			t.Errorf("%s: %v, want %v", name, got, r.want)
		}
	}
}
