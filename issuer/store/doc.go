// Package store keeps the issuer's working state in an embedded bbolt file:
// licence records with their signed credentials, search indexes, pending
// issuances and the ledger watermark. It is a view: the ledger
// (internal/ledger) is the record of what happened and in which order, and
// Recover-style reconciliation (issuer/service) brings the store in line
// with it after a crash.
//
// An issuance is written here as pending, durably, before its ledger event
// is appended; only then is it acknowledged. Status changes are appended to
// the ledger first and applied here afterwards; a lost apply is replayed
// from the ledger. The store knows nothing of HTTP or signing.
package store
