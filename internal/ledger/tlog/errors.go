package tlog

import (
	"errors"
	"fmt"
)

// MaxEntryLen is the longest entry a log accepts. Entries are opaque to
// this package; the bound keeps a log's reads and proofs of bounded cost.
const MaxEntryLen = 1 << 16

// CheckEntryLen checks an entry's length against 1..MaxEntryLen; the
// error wraps ErrInvalidEntry.
func CheckEntryLen(b []byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty", ErrInvalidEntry)
	case len(b) > MaxEntryLen:
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrInvalidEntry, len(b), MaxEntryLen)
	}
	return nil
}

// Sentinel errors. Every error returned by this package for bad input wraps
// exactly one of these (test with errors.Is); the wrapping message says
// precisely what is wrong.
var (
	// ErrInclusionProof means an inclusion proof does not prove that the
	// leaf is in the tree with the given root, or its parameters are
	// impossible (index not below size, wrong number of hashes).
	ErrInclusionProof = errors.New("tlog: invalid inclusion proof")
	// ErrConsistency means a consistency proof does not prove that the
	// first tree is a prefix of the second, or its parameters are
	// impossible.
	ErrConsistency = errors.New("tlog: invalid consistency proof")
	// ErrCorruptEntry means a stored entry is not acceptable: empty,
	// longer than MaxEntryLen, or refused by the caller's check.
	ErrCorruptEntry = errors.New("tlog: corrupt entry")
	// ErrInvalidEntry means an entry cannot be appended: empty or longer
	// than MaxEntryLen.
	ErrInvalidEntry = errors.New("tlog: invalid entry")
	// ErrMalformedNote means bytes are not a well-formed signed note.
	ErrMalformedNote = errors.New("tlog: malformed signed note")
	// ErrBadCheckpoint means a note text is not a well-formed checkpoint,
	// or is a checkpoint for another log.
	ErrBadCheckpoint = errors.New("tlog: bad checkpoint")
	// ErrBadSignature means a signature by a known key does not verify.
	ErrBadSignature = errors.New("tlog: bad signature")
	// ErrNoKnownSignature means a note carries no signature by any of the
	// keys the verifier trusts.
	ErrNoKnownSignature = errors.New("tlog: no signature by a known key")
	// ErrBadKey means a key name, verifier key or signer is unusable.
	ErrBadKey = errors.New("tlog: bad key")
	// ErrProofGeneration means a proof or root was requested for an
	// impossible range (for example an index not below the tree size).
	ErrProofGeneration = errors.New("tlog: cannot build proof")
	// ErrBadTile means a tile path or a tile's contents are not well
	// formed (c2sp.org/tlog-tiles).
	ErrBadTile = errors.New("tlog: bad tile")
)
