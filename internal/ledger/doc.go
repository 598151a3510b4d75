// Package ledger is the elicense transparency log: an append-only SM3
// Merkle log (RFC 6962 shape) of every issuance, re-issue, suspension,
// reinstatement, revocation, seal and key event, with C2SP checkpoints
// signed by SM2.
//
// It owns:
//   - the append path ([Log.Append]): one sequencer goroutine takes
//     whatever appends are queued and writes them as one durable batch
//     (group commit; under load it lingers up to Options.MaxWait until
//     the batch is as large as the last); an index is returned only once
//     its batch is on disk;
//     [Log.AppendWith] lets the caller write its own state in the same
//     transaction, through the backend's transaction handle T;
//   - checkpoint signing: the log records what it is about to sign before
//     signing (so a crash leaves a trace, never a silent gap) and refuses
//     to sign a tree head inconsistent with the last one it signed;
//   - inclusion and consistency proofs served from stored subtree hashes,
//     and the log's C2SP tiles read from them ([ReadTile]) for the API
//     and static publication;
//   - the [Store] interface a storage backend implements (bbolt:
//     internal/ledger/boltstore); no storage engine is imported here;
//   - [Fsck], which recomputes every hash and checks every checkpoint;
//   - [Copy] and [VerifyCopy]: a log copied into another store (moving a
//     deployment to another backend), resumable, and proved equal.
//
// Entries are opaque byte strings (1 to tlog.MaxEntryLen bytes): the log
// stores, hashes and proves them and never reads them. What they mean is
// the caller's; the issuer's catalogue is certs/ledgerevent, and
// Options.EntryFormat keeps one log to one format.
//
// The offline half (tree hashing, proof verification, signed notes and
// checkpoints) is in the sub-package tlog, so verifiers
// and wallets can check proofs without linking a storage engine. This
// package must not know about HTTP, licences' contents or the CLI.
package ledger
