package gm

import (
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// SM3Size is the length of an SM3 digest in bytes.
const SM3Size = sm3.Size

// SM3 returns the SM3 digest of data.
func SM3(data []byte) [SM3Size]byte { return sm3.Sum(data) }

// NewSM3 returns a new SM3 hash.Hash.
func NewSM3() hash.Hash { return sm3.New() }
