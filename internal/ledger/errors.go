package ledger

import (
	"errors"
	"fmt"

	"elicense/internal/ledger/tlog"
)

// Errors shared with tlog, re-exported so callers need one import.
var (
	ErrInclusionProof = tlog.ErrInclusionProof
	ErrConsistency    = tlog.ErrConsistency
	ErrCorruptEntry   = tlog.ErrCorruptEntry
	ErrInvalidEntry   = tlog.ErrInvalidEntry
	ErrBadCheckpoint  = tlog.ErrBadCheckpoint
	ErrBadSignature   = tlog.ErrBadSignature
)

var (
	// ErrClosed means the log has been closed.
	ErrClosed = errors.New("ledger: log closed")
	// ErrFailed means an earlier write failed and the log stopped
	// accepting appends; reopen it (which rechecks the store).
	ErrFailed = errors.New("ledger: log stopped after a failed write")
	// ErrCorruptStore means the store's bytes are damaged: a damaged
	// page, a missing key, a value of the wrong size, counters that
	// disagree. Backends report damage with it.
	ErrCorruptStore = errors.New("ledger: corrupt store")
	// ErrHashMismatch means a stored hash differs from the one recomputed
	// from the entries.
	ErrHashMismatch = errors.New("ledger: stored hash does not match the entries")
	// ErrInconsistent means the log refused to sign (or open with) a tree
	// head inconsistent with a checkpoint it signed before.
	ErrInconsistent = errors.New("ledger: tree inconsistent with a signed checkpoint")
	// ErrConflict means a batch did not start at the store's current size
	// (another writer appended).
	ErrConflict = errors.New("ledger: store was appended to by another writer")
	// ErrNotFound means an index or tree size beyond the log.
	ErrNotFound = errors.New("ledger: beyond the end of the log")
	// ErrLocked means another process holds the store (a backend that
	// allows one writer reports it when opened for writing).
	ErrLocked = errors.New("ledger: file locked by another process")
	// ErrOrigin means the store belongs to a log with another origin.
	ErrOrigin = errors.New("ledger: store belongs to another log origin")
	// ErrEntryFormat means the store holds entries of another format
	// than Options.EntryFormat (see EntryFormatError).
	ErrEntryFormat = errors.New("ledger: the store holds entries of another format")
)

// IndexError reports a problem at one position of the log: the entry at
// Index (What is "entry" or "hash") or the checkpoint of tree size Index
// (What is "checkpoint"). It wraps the cause (ErrCorruptEntry,
// ErrHashMismatch, ErrBadCheckpoint, ErrBadSignature, ErrInconsistent …).
type IndexError struct {
	Index uint64
	What  string
	Err   error
}

func (e *IndexError) Error() string {
	if e.What == "checkpoint" {
		return fmt.Sprintf("ledger: checkpoint at tree size %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("ledger: %s %d: %v", e.What, e.Index, e.Err)
}

func (e *IndexError) Unwrap() error { return e.Err }

// EntryFormatError is the refusal to open a store whose entries are of
// another format than the caller's. It wraps ErrEntryFormat.
type EntryFormatError struct {
	Have, Want string // the store's mark and the caller's
	Size       uint64 // entries in the store
}

func (e *EntryFormatError) Error() string {
	return fmt.Sprintf("ledger: the store's %d entries are of format %s, this program writes %s", e.Size, e.Have, e.Want)
}

func (e *EntryFormatError) Unwrap() error { return ErrEntryFormat }
