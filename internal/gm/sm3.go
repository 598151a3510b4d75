package gm

import (
	"encoding"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// SM3Size is the length of an SM3 digest in bytes.
const SM3Size = sm3.Size

// SM3 returns the SM3 digest of data.
func SM3(data []byte) [SM3Size]byte { return sm3.Sum(data) }

// NewSM3 returns a new SM3 hash.Hash.
func NewSM3() hash.Hash { return sm3.New() }

// HMACSM3 is HMAC-SM3 (RFC 2104) under one key, with the key's inner and
// outer pads hashed once: a caller that derives many values under one key
// (the ledger's commitment salts, one per personal field of every event)
// pays two compressions less per value than crypto/hmac.
type HMACSM3 struct {
	inner, outer []byte // SM3 states after the key's ipad and opad blocks
}

// NewHMACSM3 prepares HMAC-SM3 under key.
func NewHMACSM3(key []byte) *HMACSM3 {
	if len(key) > sm3.BlockSize {
		k := sm3.Sum(key)
		key = k[:]
	}
	var ipad, opad [sm3.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	state := func(pad []byte) []byte {
		d := sm3.New()
		d.Write(pad)
		b, err := d.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic("gm: SM3 state cannot be saved: " + err.Error())
		}
		return b
	}
	return &HMACSM3{inner: state(ipad[:]), outer: state(opad[:])}
}

// Sum appends HMAC-SM3(key, the concatenation of parts) to dst.
func (h *HMACSM3) Sum(dst []byte, parts ...[]byte) []byte {
	d := sm3.New()
	restore := func(state []byte) {
		if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
			panic("gm: SM3 state cannot be restored: " + err.Error())
		}
	}
	restore(h.inner)
	for _, p := range parts {
		d.Write(p)
	}
	var in [SM3Size]byte
	inner := d.Sum(in[:0])
	restore(h.outer)
	d.Write(inner)
	return d.Sum(dst)
}
