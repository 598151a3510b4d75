package statuslist

import (
	"slices"
	"sync"
	"testing"
)

var bench10M = sync.OnceValue(revokedList)

// BenchmarkGet is the counter's per-licence lookup.
func BenchmarkGet(b *testing.B) {
	l := bench10M()
	idx := 0
	for b.Loop() {
		if _, err := l.Get(idx); err != nil {
			b.Fatal(err)
		}
		idx = (idx + 7_919_993) % budgetEntries
	}
}

// BenchmarkEncode10M compresses the 10 M-entry list (the issuer's cost per
// publication, before signing).
func BenchmarkEncode10M(b *testing.B) {
	l := bench10M()
	var n int
	for b.Loop() {
		n = len(EncodeList(l))
	}
	b.ReportMetric(float64(n), "bytes")
}

// BenchmarkSign10M is Encode10M plus base64url, JSON and one SM2 signature.
func BenchmarkSign10M(b *testing.B) {
	l := bench10M()
	s := newSigner(b, "k")
	var n int
	for b.Loop() {
		tok, err := Sign(l, testMeta(1), s.key, s.kid)
		if err != nil {
			b.Fatal(err)
		}
		n = len(tok)
	}
	b.ReportMetric(float64(n), "bytes")
}

// BenchmarkParse10M is a counter's sync of a full 10 M-entry list: verify
// the signature, decode base64url, inflate 2.5 MB.
func BenchmarkParse10M(b *testing.B) {
	s := newSigner(b, "k")
	tok, err := Sign(bench10M(), testMeta(1), s.key, s.kid)
	if err != nil {
		b.Fatal(err)
	}
	o := s.opts()
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if _, err := Parse(tok, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyDelta10M is a counter's daily sync by delta: verify and
// decode 2,000 changes, check the base digest, copy, apply, check the
// result digest.
func BenchmarkApplyDelta10M(b *testing.B) {
	l := bench10M()
	s := newSigner(b, "k")
	d, err := NewDelta(l, 1, dayOfChanges(l), testMeta(2))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := SignDelta(d, s.key, s.kid)
	if err != nil {
		b.Fatal(err)
	}
	base := &Signed{Meta: testMeta(1), List: l}
	o := s.opts()
	for b.Loop() {
		d, err := ParseDelta(raw, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(base, d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocate hands out indices of a 10 M-entry list while it is
// mostly free (the common case).
func BenchmarkAllocate(b *testing.B) {
	a, _ := NewAllocator(budgetEntries)
	for b.Loop() {
		if a.Used() == budgetEntries/2 {
			a, _ = NewAllocator(budgetEntries)
		}
		if _, err := a.Allocate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocateNearlyFull hands out indices of a 10 M-entry list with
// only 1/64 of it free (the rank-selection path).
func BenchmarkAllocateNearlyFull(b *testing.B) {
	const size = budgetEntries
	full, _ := NewAllocator(size)
	for i := 0; i < size-size/64; i++ {
		full.mark(i * 7 % size) // 7 is prime to 10^7: distinct indices
	}
	a := full.clone()
	for b.Loop() {
		if a.Used() == size-size/128 {
			b.StopTimer()
			a = full.clone()
			b.StartTimer()
		}
		if _, err := a.Allocate(); err != nil {
			b.Fatal(err)
		}
	}
}

func (a *Allocator) clone() *Allocator {
	return &Allocator{size: a.size, used: slices.Clone(a.used), block: slices.Clone(a.block), n: a.n, rand: a.rand, off: len(a.buf)}
}
