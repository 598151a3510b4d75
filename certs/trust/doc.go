// Package trust is the signed trust bundle: the one document from which a
// counter learns whom to trust. It lists the agencies, their signing
// certificates and key states (active, retired, compromised since), the
// licence classes each may issue, the status lists with their signers, the
// ledger signer and latest checkpoint, a strictly increasing sequence
// number, and when the next bundle is due. The root or the ledger/status
// signer signs it as a JWS (typ elicense-trust+jwt, alg SM2SM3, chain in
// x5c).
//
// Counters pin the root out of band and accept a bundle only through
// [Verify], which checks the signature and chain, every certificate against
// the root and its elicense role and policy (certs/agencycert), every class
// against the catalogue, and refuses rollbacks; a stale bundle is returned
// together with a [*StaleError]. A verified bundle serves the verifier's
// hot path: [Bundle.Resolver] is the credential.KeyResolver for licences,
// [Bundle.StatusKeys] the key lookup for status lists. A compromised key's
// genuine set (the QR cores it signed before its compromise) is a document
// of its own that the bundle names by SM3: [ParseGenuineSet],
// [Bundle.VerifyGenuineSet] and [Bundle.ResolverWith].
//
// The package does no I/O and holds no keys (Sign takes a crypto.Signer).
// It does not check the ledger checkpoint, which it only carries. The
// format is in docs/status-and-trust.md.
package trust
