// Package tlog is the offline half of the elicense transparency log: the
// parts a verifier, a wallet or a counter needs with nothing but internal/gm
// and the standard library (no storage engine).
//
// It owns:
//   - the Merkle tree hashing of RFC 6962 / RFC 9162 with SM3 (leaf =
//     SM3(0x00‖entry), node = SM3(0x01‖left‖right)), and the same tree shape
//     with any 32-byte hash for cross-checking against the published SHA-256
//     test vectors ([TreeHasher]);
//   - the numbering of the immutable complete-subtree hashes a log stores
//     ([NodeID], [StoredIndex]), the right edge of a growing tree
//     ([Frontier]), and proof generation from stored hashes ([NodeReader]);
//   - C2SP tlog-tiles with SM3 ([Tile], its paths, hash tiles and entry
//     bundles), and [TileReader], which builds proofs from tiles a caller
//     fetches (a counter syncing from static files);
//   - inclusion and consistency proof verification ([VerifyInclusion],
//     [VerifyConsistency]), which need no access to the log;
//   - C2SP signed notes with SM2 signatures (signature type 0xff) and C2SP
//     tlog-checkpoints ([SignNote], [OpenNote], [Checkpoint],
//     [VerifyCheckpoint]).
//
// It must not import a storage engine, touch files or the network, or keep
// global mutable state. Entries are opaque byte strings: what they mean is
// the caller's (the issuer's catalogue is certs/ledgerevent). Every decoder here takes untrusted bytes: it returns
// an error wrapping one of the package's sentinel errors and never panics.
package tlog
