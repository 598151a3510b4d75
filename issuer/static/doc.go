// Package static keeps a directory current with what counters fetch, for
// any static web server or CDN to serve: the trust bundle, the status
// lists with their deltas, and the ledger as C2SP tlog-tiles (SM3) with
// its checkpoint, at the same paths as the issuer API (docs/formats.md),
// so that a counter syncs from http://issuer, https://cdn… or file://DIR
// in the same way.
//
// A [Writer] brings the directory up to date from the ledger's store,
// its latest checkpoint, the status manager and the trust-bundle
// publisher. It writes each file atomically, only the tiles that are new
// or grew, and in an order that keeps every state a reader can see
// usable: status lists before the bundle that names their versions,
// tiles before the checkpoint that needs them, the checkpoint before the
// bundle that carries one. Its only memory is the directory itself: the
// checkpoint there says which tiles exist, the list and the deltas there
// are what the next deltas are composed from, so a one-shot `elicense
// publish` and a long-running server write the same directory.
package static
