// Package statuslist is the revocation status of licences: IETF OAuth Token
// Status Lists (draft-ietf-oauth-status-list) with 2-bit entries, signed
// deltas between versions of a list, and the random allocation of list
// indices to new licences.
//
// It owns:
//   - [List], the packed entries (0 valid, 1 revoked, 2 suspended,
//     3 superseded), and their ZLIB encoding ([EncodeList], [DecodeList]);
//   - the Status List Token, a JWS with typ statuslist+jwt signed with
//     SM2SM3 ([Sign], [Parse]), whose sub is the list's URI and which
//     carries iat, exp, ttl and a version number;
//   - deltas: a compact signed binary document of the entries that changed
//     from one version to a later one, naming its base by version and SM3
//     digest ([NewDelta], [SignDelta], [ParseDelta], [Apply]);
//   - [Allocator], which hands out unused indices uniformly at random.
//
// It does no I/O beyond reading crypto/rand, holds no keys (signing goes
// through crypto.Signer, verification through a caller's [KeyFunc], usually
// the trust bundle's) and knows nothing of licences beyond an index. Every error wraps one of the
// Err* sentinels. Inflation is bounded ([DefaultMaxEntries]).
//
// The formats are in docs/status-and-trust.md.
package statuslist
