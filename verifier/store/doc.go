// Package store is the counter's local trust store: the roots pinned out of
// band, and a cache of the last verified trust bundle, status lists and
// ledger checkpoint, fetched from an issuer by Sync.
//
// Everything in the cache is kept in its signed form (the bundle token, each
// list's full token and the signed deltas applied since, the checkpoint
// note) and verified again on Load, so a tampered cache is refused, never
// trusted. Sync verifies every signature, refuses a bundle or list that goes
// back (sequence and version numbers) and a checkpoint that is not
// consistent with the one held (consistency proof), and replaces the cache
// in one atomic rename: a failed or partial sync leaves the old cache intact.
//
// It imports certs, internal and verifier; never issuer.
package store
