package state

import (
	"io"
	"time"

	"elicense/internal/ledger"
)

// Store is the issuer's state as the service reads and changes it
// outside the ledger's transaction. Changes that are ledger events go
// through Tx; Store's own writes are the state's alone (claim tickets,
// revoked tokens, agency seals, the watermark, the status snapshot) or
// repeat an event the ledger already holds (replay at start). Methods
// are safe for concurrent use. Records returned are the caller's.
type Store interface {
	Licences
	Claims
	Seals
	Tokens
	Replay
	Audits
	Maintenance
	Consents
}

// Licences reads licence records and prepares new ones.
type Licences interface {
	// Get returns the record with that identifier, with its credential
	// and QR core (ErrNotFound if none).
	Get(id string) (*Record, error)
	// ByImportKey returns the licence an agency issued under an
	// idempotency key (ErrNotFound if none).
	ByImportKey(agency, key string) (*Record, error)
	// Search returns up to q.Limit records matching q, in identifier
	// order within the index it uses, and the identifier to pass as
	// q.After for the next page ("" when there is none). Device copies
	// are not listed (their licence is). A holder, an agency (with or
	// without a class) or a class is answered from an index in time
	// proportional to the page; Status filters within it.
	Search(q Query) (recs []*Record, next string, err error)
	// ForEach calls fn for every record and device copy, without its
	// credential and QR core (rebuilding the status lists).
	ForEach(fn func(*Record) error) error
	// ForEachSigned calls fn for every record and device copy with its
	// credential and QR core, from one consistent view (what a key
	// signed, for its genuine set).
	ForEachSigned(fn func(*Record) error) error
	// Prepare encodes a new licence (and its claim ticket, if c is not
	// nil) for Tx.Insert.
	Prepare(r *Record, c *Claim) (*Prepared, error)
}

// Claims keeps claim tickets. A ticket made with an issuance is written
// by Tx.Insert; these write on their own, durably before returning.
type Claims interface {
	// PutClaim stores a ticket under the next number (numbers increase;
	// ErrClaimTickets past MaxClaimTicket) and returns the number.
	PutClaim(c Claim) (uint64, error)
	// UseClaim marks ticket n used and returns it, in one atomic step: a
	// code can be spent once. verify checks the code's secret against
	// the stored ticket (in constant time); a ticket it refuses is
	// ErrNotFound, like an unknown number, and stays usable. A spent
	// ticket gives ErrExists. The caller checks expiry.
	UseClaim(n uint64, verify func(Claim) bool) (Claim, error)
	// PruneClaims deletes up to max tickets that expired before now,
	// oldest first, and returns how many it deleted.
	PruneClaims(now time.Time, max int) (int, error)
}

// Seals reads the seals the ledger recorded and keeps the agencies' own
// seals (for licence faces).
type Seals interface {
	// Seal returns a seal's record (ErrNotFound if none).
	Seal(esid string) (*SealRecord, error)
	// RevokedSeals lists the revoked seals, for the trust bundle.
	RevokedSeals() ([]SealRecord, error)
	// RevokeSeal records a revocation the ledger already holds (replay),
	// as Tx.RevokeSeal does.
	RevokeSeal(esid string, at time.Time, reason string) error
	// AgencySeal returns an agency's official seal, DER (ErrNotFound if
	// none); PutAgencySeal records it.
	AgencySeal(code string) ([]byte, error)
	PutAgencySeal(code string, der []byte) error
}

// Tokens keeps revoked operator tokens.
type Tokens interface {
	// RevokeToken records that the token with that ID is revoked until
	// its expiry.
	RevokeToken(jti string, exp time.Time) error
	// TokenRevoked reports whether the token with that ID was revoked:
	// at once when revoked through this Store; a backend that several
	// processes share may take up to a second to see a revocation made
	// through another.
	TokenRevoked(jti string) (bool, error)
}

// Replay is what bringing the state in line with the ledger at start
// needs.
type Replay interface {
	// Watermark is the ledger index replay starts from: one past the
	// last entry whose change the state holds.
	Watermark() (uint64, error)
	// SetWatermark records that every entry below w is applied; it never
	// moves the mark back.
	SetWatermark(w uint64) error
	// Apply records a status change the ledger already holds, as Tx.Apply
	// does.
	Apply(c Change) error
	// StatusSnapshot returns the last status-list snapshot and the ledger
	// size it was taken at (nil data if none); PutStatusSnapshot keeps
	// one (at a clean stop).
	StatusSnapshot() (size uint64, data []byte, err error)
	PutStatusSnapshot(size uint64, data []byte) error
}

// Audits reads the personal values kept for openings (Tx.PutAudit).
type Audits interface {
	// Audit returns the values recorded for the ledger event at index
	// (ErrNotFound if none were).
	Audit(index uint64) (map[string]string, error)
}

// Maintenance is index work a backend defers off the acknowledgement
// path. A backend that defers none reports 0 and merges nothing.
type Maintenance interface {
	// HolderLogLen is how many holder-index entries wait for a merge.
	HolderLogLen() int
	// MergeHolderLog merges up to max waiting entries into the holder
	// index and returns how many it merged. Searches see every entry
	// before, during and after a merge.
	MergeHolderLog(max int) (int, error)
}

// Backend is one storage engine holding both the state and the ledger,
// so that a change and its ledger entries commit in one transaction:
// ledger.Open(b.Ledger(), …) gives a Log whose AppendWith functions get
// a Tx. Close it after the Log.
type Backend interface {
	Store
	// Ledger is the backend as the ledger's store, whose transactions
	// callers of Log.AppendWith reach as a Tx.
	Ledger() ledger.Store[Tx]
	// Backup writes a consistent copy of the ledger and the state to w
	// while both stay in use, and returns the bytes written. The copy is
	// what the backend opens (for bbolt, a data file).
	Backup(w io.Writer) (int64, error)
	// Close releases the backend.
	Close() error
}
