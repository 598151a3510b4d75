package qr

import (
	"bytes"
	"math/bits"

	"elicense/internal/gm"
)

// The optional fields form an RFC 6962-shaped Merkle tree with SM3, the
// same shape as the ledger's: leaf = SM3(0x00 ‖ leaf data), node =
// SM3(0x01 ‖ left ‖ right), and a tree of n leaves splits at the largest
// power of two below n.

func hashLeaf(data []byte) []byte {
	h := gm.NewSM3()
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

func hashNode(l, r []byte) []byte {
	h := gm.NewSM3()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// splitPoint is the largest power of two strictly less than n (n ≥ 2).
func splitPoint(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

func merkleRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		return nil
	case 1:
		return leaves[0]
	}
	k := splitPoint(len(leaves))
	return hashNode(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// inclusionProof is RFC 6962 PATH(m, D[n]), leaves already hashed.
func inclusionProof(m int, leaves [][]byte) [][]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := splitPoint(len(leaves))
	if m < k {
		return append(inclusionProof(m, leaves[:k]), merkleRoot(leaves[k:]))
	}
	return append(inclusionProof(m-k, leaves[k:]), merkleRoot(leaves[:k]))
}

// verifyInclusion recomputes the root from a leaf hash and its path
// (RFC 9162 §2.1.3.2) and reports whether it starts with root (the core
// carries a truncated root; see RootSize).
func verifyInclusion(leaf []byte, index, size int, proof [][]byte, root []byte) bool {
	if index < 0 || index >= size {
		return false
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if len(p) != gm.SM3Size || sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = hashNode(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = hashNode(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && len(root) > 0 && bytes.HasPrefix(r, root)
}
