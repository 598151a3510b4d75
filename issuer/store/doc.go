// Package store keeps the issuer's working state in bbolt buckets:
// licence records with their signed credentials, search indexes, claim
// tickets, seals and the ledger watermark. It is a view: the ledger
// (internal/ledger) is the record of what happened and in which order.
//
// The server keeps these buckets in the ledger's own file and writes each
// change in the transaction that appends its ledger event (Insert,
// ApplyTx, PutSealTx, RevokeSealTx with ledger.Log.AppendWith): a change
// is acknowledged after one fsync, and after a crash the state and the
// ledger never disagree. Entries the ledger gained without the store (the
// seal and key commands, run while the server is stopped) are replayed
// from the watermark at start. The store knows nothing of HTTP or signing.
package store
