// Package boltstate is the bbolt backend of the issuer's state
// (issuer/state): one file holding the ledger (internal/ledger/boltstore's
// buckets) and the state's buckets, so a change and its ledger entries
// commit in one bbolt transaction under the ledger's group commit.
//
// Open returns a *Store, a state.Backend: ledger.Open(s.Ledger(), …)
// gives the Log whose AppendWith functions get a state.Tx over the very
// bbolt transaction that writes the batch. Entries the ledger gained
// without the state are replayed from the watermark at start (the
// service's Recover).
//
// Files: layout.go (buckets, layout mark, Open), records.go (licence
// records, their bookkeeping, insert and status changes), search.go and
// holderindex.go (indexes and the deferred holder index), claims.go,
// seals.go, tokens.go, audit.go, watermark.go (watermark and status-list
// snapshot), credential_blob.go (the compact credential encoding),
// backend.go (the ledger's view and the transaction type), consent.go
// (relying parties, requests, grants, uses and receipts of 授权用证),
// export.go (every piece of the state, for moving a deployment out).
package boltstate
