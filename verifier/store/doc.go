// Package store is the counter's local trust store: the roots pinned out of
// band (the issuer's, and apart from them the time-stamp authorities'
// whose time-stamps a seal verification trusts, tsaroots.go), and a cache of the last verified trust bundle, status lists and
// ledger checkpoint, fetched by Sync from an issuer, from any web server
// holding a static publication of it (issuer/static), or from such a
// directory (file://DIR), at the same paths.
//
// Everything in the cache is kept in its signed form (the bundle token, each
// list's full token and the signed deltas applied since, the checkpoint
// note) and verified again on Load, so a tampered cache is refused, never
// trusted. Sync verifies every signature, never takes a bundle or list that
// goes back (sequence and version numbers: an older copy, served by a
// replica or a cache behind, is not taken and the held one kept), refuses
// a checkpoint that is not consistent with the one held (a consistency proof built from the
// ledger's C2SP tiles, or the issuer's proof endpoint where there are no
// tiles), and replaces the cache
// in one atomic rename: a failed or partial sync leaves the old cache intact.
//
// The store is also what every front end of one counter shares (check,
// scan, image, serve, log): a Checker verifies with a replay memory
// (replay.bin) and a verification log (verifications.jsonl) that all
// processes on the store read and extend under one file lock (lock), so
// that a presentation accepted anywhere is REPLAYED everywhere inside its
// window and the log's chain follows every process's records. A damaged
// lock file or replay memory fails every check closed with a
// *DamagedError that says how to recover. A Keeper keeps a long-running
// front end's verifier fresh: it syncs on a schedule, reloads the cache
// when another process synced, and keeps the last good data when a sync
// fails.
//
// The store is also the one owner of the counter's receipt queue
// (receipts.jsonl, receipts.go): every Checker appends, under the same
// lock, the counter receipt (docs/consent.md §9) of each check whose token
// parsed, sealed at once to the trust bundle's receipt key (none while the
// bundle names no receipt key); UploadReceipts sends the queue to the
// issuer oldest first and removes a batch only once the issuer has
// answered it.
//
// It imports certs, internal and verifier; never issuer.
package store
