package statuslist

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The size budget of DESIGN §10, a property of the formats rather than a
// timing: a 10 M-entry list with 0.5 % of its entries revoked at random
// compresses to at most 100 KB, and a day's delta (2,000 changes) signed
// takes at most 5 KB.
const (
	budgetEntries = 10_000_000
	budgetRevoked = budgetEntries / 200 // 0.5 %
	budgetList    = 100_000
	budgetChanges = 2_000
	budgetDelta   = 5_000
)

// revokedList returns a 10 M-entry list with 0.5 % of its entries revoked,
// at random positions (seeded, so the figure is reproducible).
func revokedList() *List {
	r := rand.New(rand.NewPCG(2026, 10))
	l := New(budgetEntries)
	for n := 0; n < budgetRevoked; {
		i := r.IntN(budgetEntries)
		if s, _ := l.Get(i); s == Valid {
			_ = l.Set(i, Revoked)
			n++
		}
	}
	return l
}

// dayOfChanges returns l after a day: 2,000 random entries changed, mostly
// revocations, some suspensions, reinstatements and re-issues.
func dayOfChanges(l *List) *List {
	r := rand.New(rand.NewPCG(2026, 11))
	next := l.Clone()
	for n := 0; n < budgetChanges; {
		i := r.IntN(next.Len())
		old, _ := next.Get(i)
		s := Revoked
		switch x := r.IntN(20); {
		case x == 0:
			s = Superseded
		case x == 1:
			s = Suspended
		case x == 2 && old == Suspended:
			s = Valid
		}
		if s != old {
			_ = next.Set(i, s)
			n++
		}
	}
	return next
}

func TestSizeBudget(t *testing.T) {
	start := time.Now()
	l := revokedList()
	z := EncodeList(l)
	t.Logf("10 M entries, 0.5 %% revoked: lst %d bytes compressed (%d base64url)", len(z), (len(z)*4+2)/3)
	if len(z) > budgetList {
		t.Errorf("compressed list is %d bytes, budget %d", len(z), budgetList)
	}
	back, err := DecodeList(z, 0)
	if err != nil || !back.Equal(l) {
		t.Fatalf("round trip: %v", err)
	}

	s := newSigner(t, "0123456789abcdef")
	next := dayOfChanges(l)
	d, err := NewDelta(l, 41, next, testMeta(42))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Changes) != budgetChanges {
		t.Fatalf("%d changes, want %d", len(d.Changes), budgetChanges)
	}
	raw, err := SignDelta(d, s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delta of %d changes: %d bytes signed", budgetChanges, len(raw))
	if len(raw) > budgetDelta {
		t.Errorf("signed delta is %d bytes, budget %d", len(raw), budgetDelta)
	}
	got, err := ParseDelta(raw, s.opts())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(&Signed{Meta: testMeta(41), List: l}, got)
	if err != nil || !res.List.Equal(next) {
		t.Fatalf("applying the day's delta: %v", err)
	}
	t.Logf("took %v", time.Since(start))
}
