// Package qr is the compact QR token shared by issuer, verifier and wallet
// (docs/formats.md has the byte layout and test vectors).
//
// A token is "EL2:" followed by the Base45 text of a CBOR body and, for a
// presentation, the device signature (optionally zlib-compressed; "EL1:"
// tokens, whose cores carry no signing time, are still read). The body
// carries an issuer-signed core (licence identifier, holder, validity,
// status pointer, signing time, a digest binding the full JWS credential,
// the device key when bound, the class's always-shown fields and a Merkle
// root over salted optional fields), the optional fields
// the holder chose to disclose with their salts and inclusion proofs and,
// for a holder-bound presentation, the presentation time and a device
// signature. A static token (for paper) has no device key and no device
// signature.
//
// Issuers call Build; wallets call Holding.Present or Holding.Static;
// verifiers call Decode and Token.Verify, which also judges the issuer key
// at the core's signing time (retired, compromised, outside its
// certificate). Revocation status and replay are the verifier's business,
// not this package's.
package qr
