package state

import "errors"

// Errors every backend returns, for callers to test with errors.Is.
var (
	// ErrNotFound means no record has that identifier (or no claim
	// ticket, seal or audit record has that key).
	ErrNotFound = errors.New("state: not found")
	// ErrExists means a record or idempotency key is already taken, or a
	// claim ticket already used.
	ErrExists = errors.New("state: already exists")
	// ErrRevoked means a grant was revoked, or a relying party removed,
	// before the change that needed it otherwise.
	ErrRevoked = errors.New("state: revoked")
	// ErrSuspended means a relying party is not active (suspended or
	// removed) when a change needed it active.
	ErrSuspended = errors.New("state: the relying party is not active")
	// ErrNotValid means a licence or licence copy is not valid (its
	// status, or a copy unbound) when a change needed it valid.
	ErrNotValid = errors.New("state: the licence is not valid")
	// ErrCorrupt means a stored value could not be decoded.
	ErrCorrupt = errors.New("state: corrupt record")
	// ErrFormat means the state was written in a layout this version
	// does not read.
	ErrFormat = errors.New("state: unknown layout")
	// ErrClaimTickets means every claim ticket number has been handed out.
	ErrClaimTickets = errors.New("state: claim ticket numbers exhausted")
	// ErrKeyRetired means a licence or grant credential signed by an
	// agency key that an earlier ledger event retired (Tx.RetireKey), or
	// a shared backend fenced (Shared.FenceKey): another issuer process
	// rotated the key and this one still signs with the old.
	ErrKeyRetired = errors.New("state: signed by a key an earlier event retired")
	// ErrUnavailable means a networked backend cannot be reached (the
	// database refused or dropped the connection, a statement timed
	// out): nothing was acknowledged, and a retry may succeed.
	ErrUnavailable = errors.New("state: the database is unavailable")
	// ErrNoStreamBackup means the backend is not backed up by streaming
	// a copy from the issuer: its database's own tools do it.
	ErrNoStreamBackup = errors.New("state: back this backend up with its database's tools")
)
