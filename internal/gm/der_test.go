package gm

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// bigDERToRS and bigRSToDER are the conversions as they were, with
// big.Int: the oracles for the byte-level ones.
func bigDERToRS(der []byte) ([]byte, error) {
	var inner cryptobyte.String
	in := cryptobyte.String(der)
	r, s := new(big.Int), new(big.Int)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) || !inner.Empty() {
		return nil, errMalformed("not a DER SEQUENCE of two INTEGERs")
	}
	if err := bigCheckScalar("r", r); err != nil {
		return nil, err
	}
	if err := bigCheckScalar("s", s); err != nil {
		return nil, err
	}
	out := make([]byte, SignatureSize)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

func bigRSToDER(rs []byte) ([]byte, error) {
	if len(rs) != SignatureSize {
		return nil, errMalformed("r‖s signature is %d bytes, want %d", len(rs), SignatureSize)
	}
	r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
	if err := bigCheckScalar("r", r); err != nil {
		return nil, err
	}
	if err := bigCheckScalar("s", s); err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}

func bigCheckScalar(name string, v *big.Int) error {
	if v.Sign() <= 0 || v.Cmp(curveOrder) >= 0 {
		return errMalformed("%s is outside [1, n-1]", name)
	}
	return nil
}

func errMalformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedSignature}, args...)...)
}

func sameResult(t *testing.T, what string, in []byte, got []byte, gotErr error, want []byte, wantErr error) {
	t.Helper()
	if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%s(%x) = %x, %v; big.Int version gives %x, %v", what, in, got, gotErr, want, wantErr)
	}
}

// TestDERConversionsMatchBigInt compares the byte-level conversions with
// the big.Int ones on signatures, scalars at the edges of [1, n-1], and
// mangled encodings.
func TestDERConversionsMatchBigInt(t *testing.T) {
	n := curveOrderBytes
	nMinus1 := new(big.Int).Sub(curveOrder, big.NewInt(1)).FillBytes(make([]byte, 32))
	nPlus1 := new(big.Int).Add(curveOrder, big.NewInt(1)).FillBytes(make([]byte, 32))
	one := big.NewInt(1).FillBytes(make([]byte, 32))
	top := bytes.Repeat([]byte{0xff}, 32)
	small := append(make([]byte, 31), 0x80)
	scalars := [][]byte{make([]byte, 32), one, nMinus1, n[:], nPlus1, top, small}
	r := rand.New(rand.NewPCG(1, 1))
	for range 50 {
		v := make([]byte, 32)
		for i := range v {
			v[i] = byte(r.Uint32())
		}
		v[0] &= byte(r.IntN(256)) // various lengths and top bits
		scalars = append(scalars, v)
	}
	var ders [][]byte
	for _, a := range scalars {
		for _, b := range scalars {
			rs := append(append([]byte{}, a...), b...)
			got, gotErr := RSToDER(rs)
			want, wantErr := bigRSToDER(rs)
			sameResult(t, "RSToDER", rs, got, gotErr, want, wantErr)
			if wantErr == nil {
				ders = append(ders, want)
			}
		}
	}
	for _, rs := range [][]byte{nil, make([]byte, 63), make([]byte, 65)} {
		got, gotErr := RSToDER(rs)
		want, wantErr := bigRSToDER(rs)
		sameResult(t, "RSToDER", rs, got, gotErr, want, wantErr)
	}
	// Hand-made encodings: negative, zero, non-minimal, oversized, empty.
	ints := [][]byte{{0x01}, {0x00}, {0x80}, {0xff}, {0x00, 0x80}, {0x00, 0x01}, {0xff, 0x80}, {0xff, 0x7f}, {},
		append([]byte{0}, n[:]...), append([]byte{0}, nMinus1...), nMinus1, append([]byte{0, 0}, nMinus1...),
		append([]byte{0x01}, nMinus1...), append([]byte{0}, top...)}
	for _, a := range ints {
		for _, b := range ints {
			var bld cryptobyte.Builder
			bld.AddASN1(cbasn1.SEQUENCE, func(bld *cryptobyte.Builder) {
				bld.AddASN1(cbasn1.INTEGER, func(bld *cryptobyte.Builder) { bld.AddBytes(a) })
				bld.AddASN1(cbasn1.INTEGER, func(bld *cryptobyte.Builder) { bld.AddBytes(b) })
			})
			ders = append(ders, bld.BytesOrPanic())
		}
	}
	for _, der := range ders {
		variants := [][]byte{der, der[:len(der)-1], append(append([]byte{}, der...), 0)}
		for i := range min(len(der), 8) {
			m := append([]byte{}, der...)
			m[i] ^= 1 << r.IntN(8)
			variants = append(variants, m)
		}
		for _, v := range variants {
			got, gotErr := DERToRS(v)
			want, wantErr := bigDERToRS(v)
			sameResult(t, "DERToRS", v, got, gotErr, want, wantErr)
		}
	}
}
