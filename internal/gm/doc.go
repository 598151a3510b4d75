// Package gm is the one place in elicense that touches the SM2/SM3/SM4
// national algorithms. It wraps github.com/emmansun/gmsm (pinned, see the
// README for why this library) so that no other package imports it.
//
// It owns:
//   - SM2 keys, GB/T 32918.2 signatures over SM3(Z_A ‖ M) with the default
//     user ID 1234567812345678, in ASN.1 DER or fixed 64-byte r‖s form;
//   - SM2 public-key encryption (GB/T 32918.4, ASN.1 C1C3C2);
//   - SM3 hashing and SM4-GCM sealing;
//   - SM2 X.509 certificates (creation, parsing, chain verification) and key
//     IDs (the first 8 bytes of SM3 over the DER certificate);
//   - PKCS#8 private keys encrypted under a passphrase (PBES2, PBKDF2 with
//     HMAC-SM3, SM4-CBC) and passphrase sources (a file or an environment
//     variable, never a flag);
//   - the golang-jwt signing method SM2SM3.
//
// Every private key is used through crypto.Signer, so a key held in an HSM or
// KMS can stand in for a file key. The contract for such a signer is on
// [SignerOpts]. gm performs no I/O except reading a passphrase or key file
// the caller names, and keeps no global mutable state.
package gm
