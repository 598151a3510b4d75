package state

import "time"

// Shared is a Backend that several issuer processes (replicas) use at
// once, such as a networked database. The state itself is shared: each
// process reads what the others committed. What a process keeps in
// memory (the status lists it serves) it brings up to date with
// StatusSince, and what must be unique across processes it takes from
// the backend.
//
// Beyond Backend's contract, a shared backend's Tx.Insert fails with
// ErrExists when the licence's status position (StatusList,
// StatusIndex) is taken, since two processes may pick the same free
// position before either commits.
type Shared interface {
	Backend
	// StatusSince calls fn for up to limit licences and device copies
	// whose LastEvent is at least from, in increasing LastEvent order,
	// without their credential and QR core, and returns the from of the
	// next call (from itself when there were none). Changes commit in
	// ledger order, so a caller that keeps calling sees every change once
	// its ledger entry is durable.
	StatusSince(from uint64, limit int, fn func(*Record) error) (next uint64, err error)
	// ReserveSerials reserves n consecutive values of the licence serial
	// counter, which no other process is given until the counter wraps,
	// and returns the first.
	ReserveSerials(n uint32) (first uint32, err error)
	// RetiredKeys lists the agency key IDs (hex) that key events retired
	// (Tx.RetireKey), so that a process still holding one stops signing
	// with it.
	RetiredKeys() ([]string, error)
	// FenceKey makes the backend refuse, once it returns, every new
	// licence signed by agency key kid (Tx.Insert fails with
	// ErrKeyRetired, as for a retired key), before the rotation that
	// retires the key takes its retirement time: a licence another
	// process committed after that time would carry a signing time its
	// counters refuse. The rotation's Tx.RetireKey turns the fence into
	// the retirement; RetiredKeys lists a fenced key too.
	FenceKey(kid string) error
	// UnfenceKey lifts kid's fence when it was set at least minAge ago,
	// by the backend's clock, and the key was not retired since; it
	// reports whether it lifted one. A rotation that did not happen
	// lifts its own fence (minAge 0); a process starting finds a fence
	// its crashed rotation left (minAge long past any rotation's
	// length).
	UnfenceKey(kid string, minAge time.Duration) (bool, error)
}
