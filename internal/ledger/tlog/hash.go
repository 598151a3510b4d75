package tlog

import (
	"encoding/hex"
	"fmt"
	"hash"

	"elicense/internal/gm"
)

// HashSize is the size of every hash in the tree.
const HashSize = 32

// Hash is a leaf, node or root hash.
type Hash [HashSize]byte

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash decodes a hash written by String.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("tlog: hash %q is %d hex digits, want %d", s, len(s), 2*HashSize)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("tlog: hash %q: %v", s, err)
	}
	return h, nil
}

// Domain-separation prefixes of RFC 6962 §2.1.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// TreeHasher computes RFC 6962 Merkle tree hashes with one hash function:
// the empty tree is H(""), a leaf is H(0x00‖entry), an interior node is
// H(0x01‖left‖right). [SM3] is the one elicense uses; [NewTreeHasher] makes
// others (tests cross-check the tree shape with SHA-256 against the
// published RFC 6962 vectors). A TreeHasher is safe for concurrent use.
type TreeHasher struct {
	name    string
	newHash func() hash.Hash // nil for the built-in SM3 fast path
}

// SM3 is the elicense tree hasher.
var SM3 = &TreeHasher{name: "SM3"}

// NewTreeHasher returns a tree hasher over newHash, which must produce
// HashSize-byte digests. It panics otherwise (a programming error).
func NewTreeHasher(name string, newHash func() hash.Hash) *TreeHasher {
	if s := newHash().Size(); s != HashSize {
		panic(fmt.Sprintf("tlog: %s digests are %d bytes, want %d", name, s, HashSize))
	}
	return &TreeHasher{name: name, newHash: newHash}
}

// Name names the hash function.
func (t *TreeHasher) Name() string { return t.name }

func (t *TreeHasher) sum(parts ...[]byte) Hash {
	var out Hash
	if t.newHash == nil {
		h := gm.NewSM3()
		for _, p := range parts {
			h.Write(p)
		}
		h.Sum(out[:0])
		return out
	}
	h := t.newHash()
	for _, p := range parts {
		h.Write(p)
	}
	h.Sum(out[:0])
	return out
}

// EmptyRoot is the root hash of the empty tree, H("").
func (t *TreeHasher) EmptyRoot() Hash { return t.sum() }

// HashLeaf returns H(0x00‖entry).
func (t *TreeHasher) HashLeaf(entry []byte) Hash {
	if t.newHash == nil && len(entry) < 512 {
		var buf [513]byte
		buf[0] = leafPrefix
		n := copy(buf[1:], entry)
		return gm.SM3(buf[:1+n])
	}
	return t.sum([]byte{leafPrefix}, entry)
}

// HashChildren returns H(0x01‖left‖right).
func (t *TreeHasher) HashChildren(left, right Hash) Hash {
	if t.newHash != nil {
		return t.hashChildrenGeneric(left, right)
	}
	var buf [1 + 2*HashSize]byte // stays on the stack: gm.SM3 does not retain it
	buf[0] = nodePrefix
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return gm.SM3(buf[:])
}

// hashChildrenGeneric is HashChildren for other hash functions; it is a
// separate function so that HashChildren's SM3 buffer stays on the stack.
func (t *TreeHasher) hashChildrenGeneric(left, right Hash) Hash {
	return t.sum([]byte{nodePrefix}, left[:], right[:])
}
