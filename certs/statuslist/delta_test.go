package statuslist

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"elicense/internal/gm"
)

// versions returns a base list and a changed copy of it.
func versions(t testing.TB, size, changes int, seed uint64) (base, next *List) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	base = New(size)
	for range size / 100 {
		_ = base.Set(r.IntN(base.Len()), Status(1+r.IntN(3)))
	}
	next = base.Clone()
	for range changes {
		_ = next.Set(r.IntN(next.Len()), Status(r.IntN(4)))
	}
	return base, next
}

func TestDeltaRoundTrip(t *testing.T) {
	s := newSigner(t, "ledger-1")
	for _, size := range []int{4, 1000, 100_000} {
		for _, changes := range []int{0, 1, 5, 500} {
			base, next := versions(t, size, changes, uint64(size+changes))
			d, err := NewDelta(base, 3, next, testMeta(4))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := SignDelta(d, s.key, s.kid)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDelta(raw, s.opts())
			if err != nil {
				t.Fatalf("size %d, %d changes: %v", size, changes, err)
			}
			if len(got.Changes) != len(d.Changes) || got.Entries != base.Len() || got.KeyID != s.kid ||
				got.Version != 4 || got.BaseVersion != 3 || !got.IssuedAt.Equal(t0) || got.TTL != 12*time.Hour {
				t.Fatalf("decoded %+v", got)
			}
			held := &Signed{Meta: testMeta(3), List: base.Clone()}
			res, err := Apply(held, got)
			if err != nil {
				t.Fatal(err)
			}
			if !res.List.Equal(next) || res.Version != 4 || !held.List.Equal(base) {
				t.Fatal("Apply did not give the next version, or changed its base")
			}
		}
	}
}

func TestDeltaErrors(t *testing.T) {
	s := newSigner(t, "k1")
	base, next := versions(t, 4000, 50, 9)
	d, err := NewDelta(base, 3, next, testMeta(4))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := SignDelta(d, s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return b
	}
	parse := []struct {
		name string
		data []byte
		edit func(*VerifyOptions)
		want error
	}{
		{"empty", nil, nil, ErrMalformed},
		{"magic", flip(0), nil, ErrMalformed},
		{"format", flip(4), nil, ErrMalformed},
		{"truncated", raw[:100], nil, ErrMalformed},
		{"tampered change", flip(len(raw) - 70), nil, ErrBadSignature},
		{"tampered signature", flip(len(raw) - 1), nil, ErrBadSignature},
		{"extra byte", append(bytes.Clone(raw[:len(raw)-64]), append([]byte{0}, raw[len(raw)-64:]...)...), nil, ErrBadSignature},
		{"signed extra byte", signBody(t, s, append(bytes.Clone(raw[:len(raw)-64]), 0)), nil, ErrMalformed},
		{"unknown key", raw, func(o *VerifyOptions) { o.Keys = newSigner(t, "k2").keys }, ErrUnknownKey},
		{"other list", raw, func(o *VerifyOptions) { o.URI = "https://other" }, ErrWrongList},
		{"too large", raw, func(o *VerifyOptions) { o.MaxEntries = 1000 }, ErrTooLarge},
		{"rollback", raw, func(o *VerifyOptions) { o.MinVersion = 5 }, ErrRollback},
		{"expired", raw, func(o *VerifyOptions) { o.Now = t0.Add(48 * time.Hour) }, ErrExpired},
	}
	for _, c := range parse {
		o := s.opts()
		if c.edit != nil {
			c.edit(&o)
		}
		got, err := ParseDelta(c.data, o)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if (got != nil) != (c.want == ErrExpired) {
			t.Errorf("%s: returned %v with %v", c.name, got, err)
		}
	}

	// One change at index 0 takes 3 bits (Rice k 0: "0", then 2 bits of
	// status), so the last byte has 5 bits of padding, which must be zero.
	one := New(8)
	_ = one.Set(0, Revoked)
	od, _ := NewDelta(New(8), 1, one, testMeta(2))
	oraw, err := SignDelta(od, s.key, s.kid)
	if err != nil {
		t.Fatal(err)
	}
	if got := oraw[len(oraw)-65]; got != 0b010 {
		t.Fatalf("one-change stream byte %08b, want 00000010", got)
	}
	body := bytes.Clone(oraw[:len(oraw)-64])
	body[len(body)-1] |= 0x80
	if _, err := ParseDelta(signBody(t, s, body), s.opts()); !errors.Is(err, ErrMalformed) {
		t.Errorf("nonzero padding: %v, want ErrMalformed", err)
	}

	good, err := ParseDelta(raw, s.opts())
	if err != nil {
		t.Fatal(err)
	}
	other := base.Clone()
	_ = other.Set(0, Superseded^mustGet(base, 0))
	apply := map[string]*Signed{
		"other URI":     {Meta: Meta{URI: "https://other", Version: 3}, List: base},
		"other version": {Meta: Meta{URI: testURI, Version: 2}, List: base},
		"other length":  {Meta: Meta{URI: testURI, Version: 3}, List: New(4004)},
		"other content": {Meta: Meta{URI: testURI, Version: 3}, List: other},
	}
	for name, held := range apply {
		if _, err := Apply(held, good); !errors.Is(err, ErrWrongBase) {
			t.Errorf("%s: %v, want ErrWrongBase", name, err)
		}
	}
	// A delta whose result digest is wrong (an issuer bug) is refused too.
	bad := *good
	bad.Digest[0] ^= 1
	if _, err := Apply(&Signed{Meta: testMeta(3), List: base}, &bad); !errors.Is(err, ErrWrongBase) {
		t.Errorf("wrong result digest: %v", err)
	}

	if _, err := NewDelta(base, 4, next, testMeta(4)); !errors.Is(err, ErrRollback) {
		t.Errorf("NewDelta to the same version: %v", err)
	}
	if _, err := NewDelta(base, 3, New(8), testMeta(4)); !errors.Is(err, ErrMalformed) {
		t.Errorf("NewDelta between lengths: %v", err)
	}
	unsorted := *d
	unsorted.Changes = []Change{{5, Revoked}, {2, Revoked}}
	if _, err := SignDelta(&unsorted, s.key, s.kid); !errors.Is(err, ErrMalformed) {
		t.Errorf("SignDelta with unsorted changes: %v", err)
	}
}

// signBody signs a delta body as SignDelta would.
func signBody(t *testing.T, s *signer, body []byte) []byte {
	t.Helper()
	sig, err := gm.SignRS(s.key, deltaSigInput(body))
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(body), sig...)
}

func mustGet(l *List, i int) Status {
	s, err := l.Get(i)
	if err != nil {
		panic(err)
	}
	return s
}
