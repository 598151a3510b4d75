// Package seal verifies electronic signatures (电子签章, SES_Signature of
// GB/T 38540-2020 v4 or GM/T 0031-2014 v1) over documents, offline, and
// gives one typed verdict.
//
// [Verify] runs the order of GB/T 38540: structure; the signer's
// signature over TBS_Sign; the signer certificate in the seal's list; the
// maker's signature on the seal, then the maker certificate's chain to the
// caller's roots (or the maker certificate trusted directly) and its
// validity; the seal's validity at the signing time (timeInfo); the
// signer certificate's validity then; the time-stamp, if present (RFC
// 3161 / GM/T 0033 token over the signature value, SM2/SM3, parsed by
// certs/tsp and verified here; it is trusted only when its authority
// chains to the caller's TSA roots, and an authority that does not is
// untrusted, not invalid, since it proves nothing either way); the
// document's SM3 digest against dataHash. Then, when the caller supplies a
// [SealStatus], whether the seal is revoked.
//
// Each failure has its own [Verdict] (MALFORMED, BAD_SIGNATURE,
// SIGNER_NOT_IN_SEAL, BAD_SEAL_SIGNATURE, MAKER_UNTRUSTED, SEAL_EXPIRED,
// DOCUMENT_MODIFIED, SEAL_REVOKED …) with an English and a Chinese
// sentence; the returned *Error wraps it for errors.Is.
//
// It must not: do I/O (documents, roots and status come from the caller),
// import issuer or mobile-sdk, or panic on any input.
package seal
