package ledger

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/ledger/tlog"
)

// Store is where a Log keeps its entries, stored hashes and checkpoints.
// It is deliberately small and dumb: the Log computes every hash, decides
// every checkpoint and checks every invariant; a Store only has to make
// each Write atomic and durable and read back what it wrote. A networked
// SQL backend implements the same seven methods (Write as one transaction
// with "size = Start" as its compare-and-set condition) and callers do not
// change.
//
// Indexes are dense: entries 0..Size-1, stored hashes
// 0..tlog.StoredHashCount(Size)-1 in tlog.StoredIndex order, so every
// key a Write adds is larger than every key before it.
//
// Methods may be called concurrently; Write is only ever called by one
// goroutine at a time. Byte slices passed to callbacks are valid only
// during the call.
type Store interface {
	// State returns the durable bookkeeping.
	State(ctx context.Context) (State, error)
	// Write applies b atomically and durably (fsync before returning
	// nil). It fails with ErrConflict, changing nothing, if the store's
	// size is not b.Start.
	Write(ctx context.Context, b *Batch) error
	// Entries calls fn for each entry in [start, end), in order.
	Entries(ctx context.Context, start, end uint64, fn func(index uint64, entry []byte) error) error
	// Hashes fills dst[i] with the stored hash at index idx[i].
	Hashes(ctx context.Context, idx []uint64, dst []tlog.Hash) error
	// Checkpoints calls fn for each signed checkpoint note of tree size
	// at least from, in increasing size, until fn returns an error
	// (ErrStop ends the scan without error).
	Checkpoints(ctx context.Context, from uint64, fn func(size uint64, note []byte) error) error
	// Close releases the store.
	Close() error
}

// State is a Store's durable bookkeeping.
type State struct {
	// Size is the number of entries.
	Size uint64
	// Origin is the log origin recorded by the first Write ("" if none).
	Origin string
	// EntryFormat is the entry-format mark recorded by the first Write
	// that carried one ("" if none).
	EntryFormat string
	// Intent is the last signing intent recorded, or nil.
	Intent *Intent
	// CheckpointSize and Checkpoint are the latest stored signed
	// checkpoint (nil if none).
	CheckpointSize uint64
	Checkpoint     []byte
}

// Intent records a tree head the log is about to sign. It is made durable
// before the signature exists, so a crash between signing and storing the
// signature leaves a trace that the log completes on reopen and fsck
// reports.
type Intent struct {
	Size uint64
	Root tlog.Hash
}

// Batch is one atomic Write.
type Batch struct {
	// Start is the store size the batch expects (its first index).
	Start uint64
	// Origin, if set, is recorded (first write) or must match.
	Origin string
	// EntryFormat, if set, is recorded while the store holds no entries
	// and no mark, and must match otherwise (ErrEntryFormat).
	EntryFormat string
	// Entries are the encoded entries Start, Start+1, ….
	Entries [][]byte
	// Hashes are the stored hashes the entries add, from stored index
	// tlog.StoredHashCount(Start) on.
	Hashes []tlog.Hash
	// Intent, if set, replaces the recorded signing intent.
	Intent *Intent
	// Checkpoint, if set, is a signed checkpoint note to keep under its
	// tree size (a note already kept for that size is not replaced).
	Checkpoint *StoredCheckpoint
	// Apply are callers' own writes, made in the transaction that adds
	// the entries (Log.AppendWith). A store that cannot share its
	// transaction fails a batch that has any, with ErrNoApply.
	Apply []Apply
}

// Apply is one caller's write in a batch: Fn runs inside the store's
// write transaction with First, the index of the caller's first entry.
type Apply struct {
	First uint64
	Fn    ApplyFunc
}

// ApplyFunc writes a caller's state in the bbolt transaction that makes
// its ledger entries durable, so the two commit together or not at all.
// It must only use tx (no other I/O, no waiting): the log's writer holds
// the transaction. It must not touch the ledger's own buckets.
type ApplyFunc = func(tx *bolt.Tx, first uint64) error

// ApplyError is the failure of one Apply. The store fails the whole
// write (nothing is written); the log then fails only the append that
// carried it and writes the others.
type ApplyError struct {
	Index int // in Batch.Apply
	Err   error
}

func (e *ApplyError) Error() string { return fmt.Sprintf("ledger: caller's write failed: %v", e.Err) }
func (e *ApplyError) Unwrap() error { return e.Err }

// StoredCheckpoint is a signed checkpoint note and its tree size.
type StoredCheckpoint struct {
	Size uint64
	Note []byte
}

// ErrStop ends a Checkpoints scan early without error.
var ErrStop = errStop{}

type errStop struct{}

func (errStop) Error() string { return "ledger: stop" }
