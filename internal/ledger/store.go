package ledger

import (
	"context"
	"fmt"

	"elicense/internal/ledger/tlog"
)

// Reader is the read side of a ledger backend: what proofs, Fsck and
// opening a Log need.
//
// Indexes are dense: entries 0..Size-1, stored hashes
// 0..tlog.StoredHashCount(Size)-1 in tlog.StoredIndex order, so every
// key a Write adds is larger than every key before it.
//
// Methods may be called concurrently with each other and with Write.
// Byte slices passed to callbacks are valid only during the call.
type Reader interface {
	// State returns the durable bookkeeping: nothing a crash, or the
	// loss of a replicated database's primary, could take back. (A
	// SharedStore's Log takes in other processes' entries and
	// checkpoints from it; one that could vanish would leave this
	// process with a tree, or serving a checkpoint, the store no longer
	// holds.)
	State(ctx context.Context) (State, error)
	// Entries calls fn for each entry in [start, end), in order.
	Entries(ctx context.Context, start, end uint64, fn func(index uint64, entry []byte) error) error
	// Hashes fills dst[i] with the stored hash at index idx[i].
	Hashes(ctx context.Context, idx []uint64, dst []tlog.Hash) error
	// Checkpoints calls fn for each signed checkpoint note of tree size
	// at least from, in increasing size, until fn returns an error
	// (ErrStop ends the scan without error).
	Checkpoints(ctx context.Context, from uint64, fn func(size uint64, note []byte) error) error
}

// Store is a ledger backend: where a Log keeps its entries, stored
// hashes and checkpoints, and the transaction its callers' own state
// changes commit in. T is the backend's handle on that transaction (the
// issuer's is its state.Tx); the Log never uses it, it only hands it to
// the functions given to Log.AppendWith.
//
// A Store is deliberately small and dumb: the Log computes every hash,
// decides every checkpoint and checks every invariant; a Store makes each
// Write atomic and durable and reads back what it wrote. It has the four
// Reader methods and Write. Closing it is its owner's business, after the
// Log that uses it is closed.
//
// Write is only ever called by one goroutine at a time (the Log's
// sequencer), so a backend may serve several processes only if it makes
// Write's compare-and-set (Batch.Start) atomic with the rest.
type Store[T any] interface {
	Reader
	// Write applies b atomically and durably: when it returns nil, b and
	// whatever apply wrote survive a crash (fsync or the engine's
	// equivalent); when it returns an error, none of them is visible.
	// It fails with ErrConflict, changing nothing, if the store's size is
	// not b.Start.
	//
	// apply, if not nil, runs once inside the same transaction, after
	// b's rows are written, with the backend's handle on it: the
	// callers' state changes commit with their ledger entries or not at
	// all, and one commit (one fsync) covers the whole batch. If apply
	// fails, Write writes nothing and returns apply's error, wrapped or
	// not (the Log then fails the caller whose change failed and writes
	// the rest of the batch again without it). apply must not retain tx.
	Write(ctx context.Context, b *Batch, apply func(tx T) error) error
}

// SharedStore is a Store that Logs in several processes append to at
// once: a networked database behind several issuer replicas. The
// database sequences: WriteLocked takes the log's head for the whole of
// its transaction, so concurrent writers, in any process, take turns,
// and each builds its batch on the size and tree it finds there. A Log
// over a SharedStore writes only through WriteLocked.
type SharedStore[T any] interface {
	Store[T]
	// WriteLocked runs one transaction that locks the log's head (the
	// other writers' WriteLocked and Write wait for its end), reads the
	// size and calls build(size, r), where r reads inside the
	// transaction and so sees everything committed before the lock.
	// build returns the batch to write (its Start is size), which is
	// then written as Write writes it, apply included, in the same
	// transaction. If build fails, nothing is written and WriteLocked
	// returns build's error.
	WriteLocked(ctx context.Context, build func(size uint64, r Reader) (*Batch, error), apply func(tx T) error) error
	// Lead reports whether this process leads the log (signs its
	// checkpoints), taking the lead if no live process holds it. The
	// lead is lost with the connection that holds it, so a killed
	// leader's successor takes over at its next call. Correctness never
	// depends on it: any process may sign a tree head it read under
	// the lock; leading only keeps one signer busy instead of all.
	Lead(ctx context.Context) (bool, error)
}

// RejectedError is a store's refusal, found only when it wrote the
// callers' changes (a unique key another process had taken), of the
// change committed with the entry at Index: nothing was written, and
// the Log fails the append holding Index alone and writes the others.
type RejectedError struct {
	Index uint64
	Err   error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("ledger: the change with entry %d was refused: %v", e.Index, e.Err)
}
func (e *RejectedError) Unwrap() error { return e.Err }

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
}

// ApplyError is the failure of one caller's state change in a batch
// (the function given to Log.AppendWith). The store wrote nothing; the
// log fails only the append that carried it and writes the others.
type ApplyError struct {
	Err error
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
