package tlog

import (
	"fmt"
	"math/bits"
)

// VerifyInclusion checks, with SM3, that leafHash is leaf index of the tree
// of the given size whose root is root. It needs nothing but the arguments.
func VerifyInclusion(leafHash Hash, index, size uint64, proof []Hash, root Hash) error {
	return SM3.VerifyInclusion(leafHash, index, size, proof, root)
}

// VerifyConsistency checks, with SM3, that the tree of size1 leaves with
// root1 is a prefix of the tree of size2 leaves with root2.
func VerifyConsistency(size1, size2 uint64, proof []Hash, root1, root2 Hash) error {
	return SM3.VerifyConsistency(size1, size2, proof, root1, root2)
}

// inclusionProofSize returns the length of the audit path of leaf index in
// a tree of size leaves (index < size): the levels below the point where
// the paths to index and to the last leaf part (inner), plus one hash per
// left-hand subtree above it (border).
func inclusionProofSize(index, size uint64) (inner, border int) {
	inner = bits.Len64(index ^ (size - 1))
	border = bits.OnesCount64(index >> inner)
	return inner, border
}

// RootFromInclusionProof computes the root that proof leads to from leaf
// index of a tree of size leaves (RFC 9162 §2.1.3.2).
func (t *TreeHasher) RootFromInclusionProof(leafHash Hash, index, size uint64, proof []Hash) (Hash, error) {
	if size == 0 || index >= size {
		return Hash{}, fmt.Errorf("%w: leaf index %d is not below tree size %d", ErrInclusionProof, index, size)
	}
	if size > MaxTreeSize {
		return Hash{}, fmt.Errorf("%w: tree size %d exceeds %d", ErrInclusionProof, size, uint64(MaxTreeSize))
	}
	inner, border := inclusionProofSize(index, size)
	if want := inner + border; len(proof) != want {
		return Hash{}, fmt.Errorf("%w: proof for leaf %d of %d has %d hashes, want %d", ErrInclusionProof, index, size, len(proof), want)
	}
	fn, sn := index, size-1
	r := leafHash
	for _, p := range proof {
		if sn == 0 {
			return Hash{}, fmt.Errorf("%w: proof for leaf %d of %d is too long", ErrInclusionProof, index, size)
		}
		if fn&1 == 1 || fn == sn {
			r = t.HashChildren(p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = t.HashChildren(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, fmt.Errorf("%w: proof for leaf %d of %d is too short", ErrInclusionProof, index, size)
	}
	return r, nil
}

// VerifyInclusion checks that leafHash is leaf index of the tree of the
// given size whose root is root.
func (t *TreeHasher) VerifyInclusion(leafHash Hash, index, size uint64, proof []Hash, root Hash) error {
	got, err := t.RootFromInclusionProof(leafHash, index, size, proof)
	if err != nil {
		return err
	}
	if got != root {
		return fmt.Errorf("%w: proof for leaf %d of %d leads to root %s, want %s", ErrInclusionProof, index, size, got, root)
	}
	return nil
}

// VerifyConsistency checks the RFC 9162 §2.1.4.2 consistency proof that the
// tree of size1 leaves with root1 is a prefix of the tree of size2 leaves
// with root2. A tree is consistent with itself (same size and root, empty
// proof) and the empty tree with every tree (empty proof).
func (t *TreeHasher) VerifyConsistency(size1, size2 uint64, proof []Hash, root1, root2 Hash) error {
	switch {
	case size2 > MaxTreeSize:
		return fmt.Errorf("%w: tree size %d exceeds %d", ErrConsistency, size2, uint64(MaxTreeSize))
	case size1 > size2:
		return fmt.Errorf("%w: first tree size %d is larger than second tree size %d", ErrConsistency, size1, size2)
	case size1 == size2:
		if len(proof) != 0 {
			return fmt.Errorf("%w: proof between equal sizes %d has %d hashes, want none", ErrConsistency, size1, len(proof))
		}
		if root1 != root2 {
			return fmt.Errorf("%w: two roots for tree size %d: %s and %s", ErrConsistency, size1, root1, root2)
		}
		return nil
	case size1 == 0:
		if len(proof) != 0 {
			return fmt.Errorf("%w: proof from the empty tree has %d hashes, want none", ErrConsistency, len(proof))
		}
		return nil
	}
	// 0 < size1 < size2.
	inner, border := inclusionProofSize(size1-1, size2)
	shift := bits.TrailingZeros64(size1)
	want := inner - shift + border
	pow2 := size1 == 1<<shift
	if !pow2 {
		want++ // the proof starts with the root of the 2^shift subtree
	}
	if len(proof) != want {
		return fmt.Errorf("%w: proof from size %d to %d has %d hashes, want %d", ErrConsistency, size1, size2, len(proof), want)
	}
	path := proof
	if pow2 {
		path = append([]Hash{root1}, proof...)
	}
	fn, sn := size1-1, size2-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return fmt.Errorf("%w: proof from size %d to %d is too long", ErrConsistency, size1, size2)
		}
		if fn&1 == 1 || fn == sn {
			fr = t.HashChildren(c, fr)
			sr = t.HashChildren(c, sr)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = t.HashChildren(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	switch {
	case sn != 0:
		return fmt.Errorf("%w: proof from size %d to %d is too short", ErrConsistency, size1, size2)
	case fr != root1:
		return fmt.Errorf("%w: proof from size %d to %d leads to first root %s, want %s", ErrConsistency, size1, size2, fr, root1)
	case sr != root2:
		return fmt.Errorf("%w: proof from size %d to %d leads to second root %s, want %s", ErrConsistency, size1, size2, sr, root2)
	}
	return nil
}
