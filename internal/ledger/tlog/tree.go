package tlog

import (
	"fmt"
	"math/bits"
	"slices"
)

// MaxTreeSize bounds tree sizes so that stored-hash indexes (about twice
// the size) fit in a uint64.
const MaxTreeSize = 1 << 62

// NodeID names the root of a complete subtree: the node at Level (0 for
// leaves) covering the 2^Level leaves [Index·2^Level, (Index+1)·2^Level).
// Complete subtrees never change once the log has grown past them, so they
// are what a log stores; every other hash (the root, and the right-edge
// subtrees of a size that is not a power of two) is folded from them.
type NodeID struct {
	Level uint8
	Index uint64
}

func (id NodeID) String() string { return fmt.Sprintf("(level %d, index %d)", id.Level, id.Index) }

// StoredHashCount is the number of complete-subtree hashes in a tree of n
// leaves: n leaves, n/2 nodes at level 1, n/4 at level 2, …, which is
// 2n - popcount(n).
func StoredHashCount(n uint64) uint64 { return 2*n - uint64(bits.OnesCount64(n)) }

// StoredIndex is the position of id in the order a log writes hashes: when
// leaf n is appended, its hash and then the hashes of the complete subtrees
// it completes (bottom-up) are written. Writing in this order makes every
// key strictly larger than the last, so the storage engine only appends.
// The node (L, k) is completed by leaf (k+1)·2^L - 1, whose own hash is at
// StoredHashCount((k+1)·2^L - 1); the node follows L positions later.
func StoredIndex(id NodeID) uint64 {
	last := (id.Index+1)<<id.Level - 1
	return StoredHashCount(last) + uint64(id.Level)
}

// largestPowerOfTwoBelow returns the largest power of two strictly smaller
// than n, for n >= 2 (the split point k of RFC 6962 §2.1).
func largestPowerOfTwoBelow(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// span is a subtree [lo, hi) of the RFC 6962 recursion.
type span struct{ lo, hi uint64 }

// appendRangeNodes appends the complete subtrees that make up [lo, hi),
// left to right. For every span that occurs in the RFC 6962 recursion the
// right fold of these nodes is the span's hash.
func appendRangeNodes(dst []NodeID, lo, hi uint64) []NodeID {
	for lo < hi {
		level := bits.Len64(hi-lo) - 1
		if lo != 0 {
			level = min(level, bits.TrailingZeros64(lo))
		}
		dst = append(dst, NodeID{Level: uint8(level), Index: lo >> level})
		lo += 1 << level
	}
	return dst
}

// FrontierNodes lists the complete subtrees whose hashes make up the right
// edge of a tree of size n (one per set bit of n, largest first).
func FrontierNodes(n uint64) []NodeID { return appendRangeNodes(nil, 0, n) }

// Frontier is the right edge of a tree (a "compact range" over [0, size)):
// the hashes of the complete subtrees of the binary decomposition of its
// size, largest first. It is all a log needs in memory to append leaves and
// compute its root. The zero value is an empty tree.
type Frontier struct {
	size  uint64
	nodes []Hash
}

// NewFrontier builds the frontier of a tree of size n from the hashes of
// FrontierNodes(n), in that order.
func NewFrontier(n uint64, hashes []Hash) (Frontier, error) {
	if want := bits.OnesCount64(n); len(hashes) != want {
		return Frontier{}, fmt.Errorf("%w: frontier of size %d needs %d hashes, got %d", ErrProofGeneration, n, want, len(hashes))
	}
	return Frontier{size: n, nodes: slices.Clone(hashes)}, nil
}

// Size is the number of leaves.
func (f *Frontier) Size() uint64 { return f.size }

// Clone returns an independent copy.
func (f *Frontier) Clone() Frontier { return Frontier{size: f.size, nodes: slices.Clone(f.nodes)} }

// Append adds a leaf hash and appends to dst the hashes that become
// stored: the leaf, then each complete subtree it completes, bottom-up, in
// StoredIndex order.
func (f *Frontier) Append(t *TreeHasher, leaf Hash, dst []Hash) []Hash {
	h := leaf
	dst = append(dst, h)
	for n := f.size; n&1 == 1; n >>= 1 {
		top := f.nodes[len(f.nodes)-1]
		f.nodes = f.nodes[:len(f.nodes)-1]
		h = t.HashChildren(top, h)
		dst = append(dst, h)
	}
	f.nodes = append(f.nodes, h)
	f.size++
	return dst
}

// Root returns the tree head for the current size.
func (f *Frontier) Root(t *TreeHasher) Hash {
	if len(f.nodes) == 0 {
		return t.EmptyRoot()
	}
	return foldRight(t, f.nodes)
}

// foldRight hashes a list of adjacent subtree roots, right to left.
func foldRight(t *TreeHasher, hs []Hash) Hash {
	h := hs[len(hs)-1]
	for i := len(hs) - 2; i >= 0; i-- {
		h = t.HashChildren(hs[i], h)
	}
	return h
}

// NodeReader reads stored complete-subtree hashes. A log's storage
// implements it; so does MemTree.
type NodeReader interface {
	// ReadNodes returns the hashes of ids, in order. It fails if any of
	// them is not stored.
	ReadNodes(ids []NodeID) ([]Hash, error)
}

// hashSpans computes the hash of each span, reading all the stored nodes
// they need with one ReadNodes call.
func (t *TreeHasher) hashSpans(spans []span, r NodeReader) ([]Hash, error) {
	if len(spans) == 0 {
		return nil, nil
	}
	var ids []NodeID
	ends := make([]int, len(spans))
	for i, s := range spans {
		ids = appendRangeNodes(ids, s.lo, s.hi)
		ends[i] = len(ids)
	}
	hs, err := r.ReadNodes(ids)
	if err != nil {
		return nil, err
	}
	if len(hs) != len(ids) {
		return nil, fmt.Errorf("%w: node reader returned %d hashes for %d nodes", ErrProofGeneration, len(hs), len(ids))
	}
	out := make([]Hash, len(spans))
	start := 0
	for i, end := range ends {
		out[i] = foldRight(t, hs[start:end])
		start = end
	}
	return out, nil
}

// RootAt returns the root hash of the first size leaves.
func (t *TreeHasher) RootAt(size uint64, r NodeReader) (Hash, error) {
	if size == 0 {
		return t.EmptyRoot(), nil
	}
	if size > MaxTreeSize {
		return Hash{}, fmt.Errorf("%w: tree size %d exceeds %d", ErrProofGeneration, size, uint64(MaxTreeSize))
	}
	hs, err := t.hashSpans([]span{{0, size}}, r)
	if err != nil {
		return Hash{}, err
	}
	return hs[0], nil
}

// InclusionProof returns the RFC 6962 §2.1.1 audit path of leaf index in
// the tree of the first size leaves.
func (t *TreeHasher) InclusionProof(index, size uint64, r NodeReader) ([]Hash, error) {
	if index >= size || size > MaxTreeSize {
		return nil, fmt.Errorf("%w: inclusion of leaf %d in a tree of size %d", ErrProofGeneration, index, size)
	}
	// PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) ‖ MTH(D[lo+k:hi]) if m < k,
	// else PATH(m-k, D[lo+k:hi]) ‖ MTH(D[lo:lo+k]). Walk top-down, then
	// reverse so that the proof runs from the leaf up.
	var spans []span
	lo, hi := uint64(0), size
	for hi-lo > 1 {
		k := largestPowerOfTwoBelow(hi - lo)
		if index-lo < k {
			spans = append(spans, span{lo + k, hi})
			hi = lo + k
		} else {
			spans = append(spans, span{lo, lo + k})
			lo += k
		}
	}
	slices.Reverse(spans)
	return t.hashSpans(spans, r)
}

// ConsistencyProof returns the RFC 6962 §2.1.2 proof that the tree of the
// first size1 leaves is a prefix of the tree of the first size2 leaves. It
// is empty when size1 is 0 or equal to size2.
func (t *TreeHasher) ConsistencyProof(size1, size2 uint64, r NodeReader) ([]Hash, error) {
	if size1 > size2 || size2 > MaxTreeSize {
		return nil, fmt.Errorf("%w: consistency from size %d to size %d", ErrProofGeneration, size1, size2)
	}
	if size1 == 0 || size1 == size2 {
		return []Hash{}, nil
	}
	// SUBPROOF(m, D[lo:hi], b), iteratively; m counts from lo.
	var spans []span
	m, lo, hi, b := size1, uint64(0), size2, true
	for {
		n := hi - lo
		if m == n {
			if !b {
				spans = append(spans, span{lo, hi})
			}
			break
		}
		k := largestPowerOfTwoBelow(n)
		if m <= k {
			spans = append(spans, span{lo + k, hi})
			hi = lo + k
		} else {
			spans = append(spans, span{lo, lo + k})
			m -= k
			lo += k
			b = false
		}
	}
	slices.Reverse(spans)
	return t.hashSpans(spans, r)
}

// MemTree is an in-memory log tree holding every stored hash. Tests,
// benchmarks and tools use it to build trees and proofs without storage.
type MemTree struct {
	t      *TreeHasher
	f      Frontier
	stored []Hash
}

// NewMemTree returns an empty tree over t.
func NewMemTree(t *TreeHasher) *MemTree { return &MemTree{t: t} }

// AppendLeaf adds a leaf hash and returns its index.
func (m *MemTree) AppendLeaf(leaf Hash) uint64 {
	m.stored = m.f.Append(m.t, leaf, m.stored)
	return m.f.size - 1
}

// AppendEntry hashes and adds an encoded entry and returns its index.
func (m *MemTree) AppendEntry(entry []byte) uint64 { return m.AppendLeaf(m.t.HashLeaf(entry)) }

// Size is the number of leaves.
func (m *MemTree) Size() uint64 { return m.f.size }

// Root is the current root hash.
func (m *MemTree) Root() Hash { return m.f.Root(m.t) }

// ReadNodes implements NodeReader.
func (m *MemTree) ReadNodes(ids []NodeID) ([]Hash, error) {
	out := make([]Hash, len(ids))
	for i, id := range ids {
		if id.Level > 62 {
			return nil, fmt.Errorf("%w: node %v is not stored", ErrProofGeneration, id)
		}
		j := StoredIndex(id)
		if j >= uint64(len(m.stored)) {
			return nil, fmt.Errorf("%w: node %v is not stored", ErrProofGeneration, id)
		}
		out[i] = m.stored[j]
	}
	return out, nil
}

// RootAt returns the root of the first size leaves.
func (m *MemTree) RootAt(size uint64) (Hash, error) {
	if size > m.f.size {
		return Hash{}, fmt.Errorf("%w: size %d beyond tree size %d", ErrProofGeneration, size, m.f.size)
	}
	return m.t.RootAt(size, m)
}

// InclusionProof returns the audit path of leaf index in the tree of size.
func (m *MemTree) InclusionProof(index, size uint64) ([]Hash, error) {
	if size > m.f.size {
		return nil, fmt.Errorf("%w: size %d beyond tree size %d", ErrProofGeneration, size, m.f.size)
	}
	return m.t.InclusionProof(index, size, m)
}

// ConsistencyProof returns the consistency proof between two sizes.
func (m *MemTree) ConsistencyProof(size1, size2 uint64) ([]Hash, error) {
	if size2 > m.f.size {
		return nil, fmt.Errorf("%w: size %d beyond tree size %d", ErrProofGeneration, size2, m.f.size)
	}
	return m.t.ConsistencyProof(size1, size2, m)
}
