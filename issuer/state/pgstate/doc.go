// Package pgstate is the PostgreSQL backend of the issuer's state
// (issuer/state) and its ledger, through pgx: one schema holds both, so
// a change and its ledger entries commit in one transaction, and
// several issuer processes (replicas) may use one schema at once.
//
// Open returns a *Store, a state.Backend and a state.Shared; its Ledger
// is a ledger.SharedStore. The schema is created or migrated by Open,
// inside one transaction under an advisory lock (replicas starting
// together take turns), and its version is recorded in schema_version;
// a version newer than this build's is refused (*VersionError, which
// wraps state.ErrFormat). So is a server that acknowledges commits
// before they are durable (fsync or synchronous_commit off).
//
// # Sequencing
//
// The database sequences the ledger: every write transaction (Write and
// WriteLocked) starts by locking the one row of ledger_head (SELECT …
// FOR UPDATE), reads the size there, writes its entries from that size
// and moves the size on before it commits. The row lock is held to the
// commit, so writers in any number of processes take turns, each sees
// everything committed before it, and indexes stay gap-free and ordered;
// a writer that dies holding the lock loses its connection and with it
// the lock and everything it wrote. This is what tessera's MySQL driver
// does. The alternative, a leader elected through an advisory lock that
// alone writes, would make every other replica forward its appends to
// the leader (a second network hop and a queue to keep), and a leader's
// death would stop writes until the next election; with the row lock
// each replica batches its own appends (group commit per process) and
// the cost of sharing is one lock wait per batch. Leadership (Lead) is
// kept only for the work one replica should do alone, signing
// checkpoints: a session advisory lock on a connection of its own, lost
// with that connection.
//
// The lock is held through the commit and its fsync, so the log's
// writers, in all processes together, commit one batch at a time: the
// ledger's rate is a batch per (two round trips + the batch's statements
// + one WAL flush), and more replicas add signing and HTTP capacity, not
// ledger capacity; under load each process's batches grow instead
// (BenchmarkWrite and BenchmarkWriteTwoStores measure it).
//
// # A transaction's round trips
//
// A ledger transaction makes two round trips whatever its size: BEGIN
// with the head's lock, then, after the Log has built the batch and its
// callers' changes have run, every row in one pipeline (pgx.Batch:
// entries and hashes by unnest of arrays, licences, credentials and
// claim tickets each in one statement, the status changes, the audit
// records, the head) ending with COMMIT. Rows go as arrays through
// unnest rather than COPY: COPY cannot join a pipeline, so each table
// would cost a round trip of its own. The state.Tx the callers get
// makes no round trip: it checks what it can in memory (a key taken
// earlier in the same batch) and queues rows. What only the database
// knows, an identifier, import key or status position another process
// took, or a record missing, is found by the statements themselves,
// which raise an error naming the change's ledger index (the schema's
// reject function); the store rolls back and returns a
// *ledger.RejectedError for it, so the Log fails that caller alone. A
// failed transaction writes nothing.
//
// # Errors
//
// A refused or dropped connection, a server shutting down and a
// statement that ran past Options.StatementTimeout are reported
// wrapping state.ErrUnavailable: nothing was acknowledged, and the pool
// reconnects for the next call. One case is in doubt: a connection
// lost after COMMIT was sent may have committed. The error still wraps
// state.ErrUnavailable; the ledger then holds the batch whole or not at
// all (never a gap), and the next writer builds on the size it finds
// under the lock, so a caller that retries must expect to find its
// change already made (an import key, ErrExists).
//
// A server that stops answering without closing the connection (a dead
// peer, a partition) is bounded on this side: each connection attempt
// by Options.ConnectTimeout, and each operation the ledger's sequencer
// waits for (a ledger transaction, reading the head, the lead, Ping) by
// Options.OpTimeout, so writers fail with state.ErrUnavailable instead
// of waiting for the kernel to give up on the connection. Ping is what
// /readyz asks.
//
// Backups are the database's business (pg_dump, base backups): Backup
// returns state.ErrNoStreamBackup.
//
// Files: open.go (Options, Open, the schema's version), schema.go (the
// tables and statements), ledger.go (the ledger store, the write
// transaction, the lead), tx.go (the queued state.Tx), records.go
// (licences, state.Shared), misc.go (claims, seals, tokens, audit
// records, watermark, snapshot), consent.go (relying parties, requests,
// grants, uses and receipts of 授权用证), import.go (Import and Export,
// for moving a deployment in), errors.go.
package pgstate
