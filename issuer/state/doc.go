// Package state defines the issuer's working state, whatever engine keeps
// it: the stored rows (Record, Claim, SealRecord, and the relying
// parties, requests and grants of consent.go), the reads and writes
// the service makes (Store), the changes that commit with their ledger
// entries (Tx), and a storage engine holding both the state and the
// ledger (Backend). It is a view: the ledger (internal/ledger) is the
// record of what happened and in which order.
//
// The contract every backend keeps: a change and the ledger entries that
// record it commit in one atomic, durable transaction, which the ledger
// groups with other callers' (one commit, one fsync, for a whole batch),
// and the service answers only after it. So after a crash the state and
// the ledger never disagree. A change that fails rolls back only its own
// caller's part of the batch.
//
// Backends: issuer/state/boltstate (one bbolt file) and
// issuer/state/pgstate (PostgreSQL). A new backend proves itself with
// the conformance suite in issuer/state/statetest.
//
// Moving a deployment from one backend to another copies the state as
// it is: an Exporter reads every piece, an Importer writes it without
// Tx, and TakeCensus summarises a state so two copies can be compared
// (export.go; the ledger's side is ledger.Copy).
package state
