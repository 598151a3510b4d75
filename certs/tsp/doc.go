// Package tsp reads and writes RFC 3161 time-stamp tokens as GM/T 0033 profiles
// them: a CMS SignedData (RFC 5652; the PKCS #7 or the GM/T 0010 content
// type) whose encapsulated content is a TSTInfo. It is the token an
// electronic signature carries in SES_Signature.timeStamp (certs/ses).
//
// It owns:
//   - [Parse], which reads a TimeStampToken, or a whole TimeStampResp whose
//     status it skips, into a [Token]: the TSTInfo's fields ([TSTInfo]),
//     the certificates the token carries (as DER), and its SignerInfo
//     ([SignerInfo]) with the signer's identifier and signed attributes;
//   - [Token.SignedMessage], the bytes the time-stamp authority's signature
//     covers (RFC 5652 §5.4);
//   - [Build], which writes a token as an SM2 authority signs it (the
//     conformance kit's time-stamps and the tests' come from it), with
//     options to break one point of it for verifiers' tests;
//   - typed errors: every error is a [*MalformedError] naming the element
//     at fault by the RFCs' field names, and wraps [ErrMalformed].
//
// Parse reads the fields a verifier needs and, as the verifier it was
// taken from did, does not read past them: TSTInfo's optional fields
// (accuracy, ordering, nonce, tsa, extensions), SignerInfos after the
// first (a time-stamp token has one, RFC 3161 §2.4.2), and the
// unsignedAttrs are left unread. Lengths must be DER.
//
// It must not: check signatures, digests or algorithms, parse or trust
// certificates, or do I/O. verifier/seal does the checks, with the roots
// its caller gives it.
package tsp
