// Package archive checks an archive package (certs/archive) offline,
// with no server: the manifest's signature, every file's SM3, each
// licence version's sealed OFD file (verifier/ofd, trust as of signing),
// credential signature and ledger entries (inclusion proofs against the
// package's checkpoint, whose signature by the ledger key it checks).
//
// Trust is anchored in the root certificate: the package carries one,
// and every other certificate (ledger, agency keys) must chain to it. A
// verifier that pins roots (the counter's store) passes them; a package
// whose root is not among them is refused. Without pinned roots the
// report says the package is only self-consistent, naming the root's SM3
// fingerprint for the reader to compare out of band.
//
// It must not: import the issuer, or reach the network.
package archive
