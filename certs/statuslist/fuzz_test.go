package statuslist

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"elicense/internal/gm"
)

// fuzzKey is one key for every fuzz target, so that seeds stay valid.
var fuzzKey = sync.OnceValue(func() *gm.PrivateKey {
	k, err := gm.NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	return k
})

func fuzzOpts() VerifyOptions {
	return VerifyOptions{
		URI:        testURI,
		Keys:       func(string) []*ecdsa.PublicKey { return []*ecdsa.PublicKey{fuzzKey().PublicKey()} },
		Now:        t0,
		MaxEntries: 1 << 20,
	}
}

// FuzzParse feeds arbitrary tokens to Parse: it must not panic, must return
// a list only with no error or ErrExpired, and a list it returns must
// survive re-signing.
func FuzzParse(f *testing.F) {
	tok, err := Sign(sampleList(), testMeta(1), fuzzKey(), "k")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok[:len(tok)-5])
	f.Add(resign(f, tok, fuzzKey(), replace(`{`, `{"crit":["x"],"x":1,`), same))
	f.Add("eyJhbGciOiJTTTJTTTMifQ.e30.AAAA")
	f.Add("...")
	f.Fuzz(func(t *testing.T, token string) {
		s, err := Parse(token, fuzzOpts())
		if s == nil {
			if err == nil {
				t.Fatal("no list and no error")
			}
			return
		}
		if err != nil && !errors.Is(err, ErrExpired) {
			t.Fatalf("list returned with %v", err)
		}
		again, err := Sign(s.List, s.Meta, fuzzKey(), s.KeyID)
		if err != nil {
			t.Fatalf("re-signing a parsed list: %v", err)
		}
		s2, err := Parse(again, fuzzOpts())
		if s2 == nil || !s2.List.Equal(s.List) {
			t.Fatalf("re-signed list does not parse back: %v", err)
		}
	})
}

// FuzzDecodeList feeds arbitrary bytes to DecodeList: no panic, a bounded
// result, and what decodes re-encodes to the same list.
func FuzzDecodeList(f *testing.F) {
	f.Add(EncodeList(sampleList()))
	f.Add(EncodeList(New(0)))
	f.Add([]byte{0x78, 0xda, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Add([]byte{0x78, 0x9c})
	f.Fuzz(func(t *testing.T, z []byte) {
		l, err := DecodeList(z, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if l.Len() > 1<<16 {
			t.Fatalf("decoded %d entries past the limit", l.Len())
		}
		back, err := DecodeList(EncodeList(l), 1<<16)
		if err != nil || !back.Equal(l) {
			t.Fatalf("re-encoding: %v", err)
		}
	})
}

// FuzzApplyDelta decodes arbitrary delta bodies and applies them to a base
// list: no panic, and whatever applies gives a list with the promised
// digest. A second mode builds a valid signed delta from the fuzz input and
// checks the round trip.
func FuzzApplyDelta(f *testing.F) {
	base := sampleList()
	next := base.Clone()
	_ = next.Set(9, Revoked)
	_ = next.Set(3, Valid)
	d, err := NewDelta(base, 1, next, testMeta(2))
	if err != nil {
		f.Fatal(err)
	}
	raw, err := SignDelta(d, fuzzKey(), "k")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw[:len(raw)-gm.SignatureSize], false)
	f.Add([]byte{0, 0, 0, 0, 9, 1, 3, 1, 40, 200}, true)
	held := &Signed{Meta: testMeta(1), List: base}
	f.Fuzz(func(t *testing.T, data []byte, build bool) {
		if build {
			// Read (index, status) pairs from data, build a delta, sign,
			// parse and apply it.
			target := base.Clone()
			for len(data) >= 3 {
				i := int(binary.BigEndian.Uint16(data)) % target.Len()
				_ = target.Set(i, Status(data[2]&3))
				data = data[3:]
			}
			d, err := NewDelta(base, 1, target, testMeta(2))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := SignDelta(d, fuzzKey(), "k")
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDelta(raw, fuzzOpts())
			if err != nil {
				t.Fatal(err)
			}
			res, err := Apply(held, got)
			if err != nil || !res.List.Equal(target) {
				t.Fatalf("built delta does not apply: %v", err)
			}
			return
		}
		d, err := decodeDelta(data, 1<<20)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		prev := -1
		for _, c := range d.Changes {
			if c.Index <= prev || c.Index >= d.Entries || !c.Status.valid() {
				t.Fatalf("decoded change %+v out of order or range", c)
			}
			prev = c.Index
		}
		res, err := Apply(held, d)
		if err == nil && res.List.Digest() != d.Digest {
			t.Fatal("applied delta without its digest")
		}
		if err != nil && !errors.Is(err, ErrWrongBase) {
			t.Fatalf("Apply: untyped error %v", err)
		}
	})
}
