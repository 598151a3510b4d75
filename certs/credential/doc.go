// Package credential is the full signed licence: a GB/T 36903 licence record
// (metadata, class fields, holder device key when bound, status reference)
// validated against its catalogue class and signed by an agency key as a
// compact JWS with typ "elicense+jwt" and alg SM2SM3.
//
// Verify returns the parsed licence or an *Error whose Reason says exactly
// what is wrong (unknown class, bad field, bad signature, unknown key,
// expired, not yet valid …); callers test it with errors.Is against the
// Err* sentinels. The package does no I/O: keys come from a KeyResolver the
// caller supplies (a trust bundle, a PKI directory).
//
// The claim layout is documented in docs/formats.md.
package credential
