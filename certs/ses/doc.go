// Package ses is the electronic seal (电子印章) and electronic signature
// (电子签章) format of GB/T 38540-2020 (version 4), and the GM/T 0031-2014
// form (version 1) it replaced: DER decoding, exact re-encoding, building
// and signing v4 seals and signatures, and the cryptographic checks a
// verifier composes (maker signature, signer signature, certificate list,
// document digest).
//
// It owns:
//   - the ASN.1 types ([Seal], [SealInfo], [Property], [Picture],
//     [Extensions], [Signature], [TBSSign], [Timestamp]), each version
//     described on its type;
//   - [ParseSeal] and [ParseSignature], which tell v1 from v4 by
//     structure, keep the raw DER of every signed part (Seal.RawSealInfo,
//     Signature.RawTBSSign) and report a malformed input as a
//     [*MalformedError] naming the element by the standard's field names,
//     e.g. "ses: SES_Seal.esealInfo.property.certList: …";
//   - Marshal methods that re-encode from the fields and reproduce parsed
//     input byte for byte (every producer choice — time forms, tagging of
//     optional parts, an explicit BOOLEAN FALSE — is kept);
//   - the v4 builders [NewSealInfo], [SignSeal], [SignDocument],
//     [SignDigest] and [SignTBS];
//   - the holder record elicense adds to its seals ([Holder]).
//
// Algorithms are those of GB/T 35275 / GM/T 0006: SM2 with SM3
// (1.2.156.10197.1.501) with the default user ID, SM3 digests. All
// cryptography goes through internal/gm.
//
// # Tolerant reading
//
// Besides the standard forms the reader accepts variants that producers
// are known to write, and keeps them so that they re-encode as they came:
// TBS_Sign.extDatas and SES_SealInfo.extDatas untagged, [0] EXPLICIT or
// [0] IMPLICIT; SES_Signature.timeStamp as [0] EXPLICIT, [0] IMPLICIT or
// untagged BIT STRING; v4 property dates as UTCTime and v1 dates as
// GeneralizedTime; the v1 timeInfo as a BIT STRING or OCTET STRING holding
// a DER time or bare time text, or a plain UTCTime/GeneralizedTime; the v1
// dataHash as OCTET STRING; CertDigestObj.type as PrintableString,
// IA5String or UTF8String; an ExtData with critical FALSE written out;
// extnIDs with arcs of any size; signature values as DER or bare 64-byte
// r‖s. A seal's maker signature is accepted over DER(SES_SealInfo) (v4) or
// over DER(SEQUENCE {SES_SealInfo, cert, signatureAlgorithm}) (v1),
// whichever the seal's version, and [Seal.CheckSignature] says which.
// Lengths must be DER (definite, minimal); BER is refused. A seal or
// signature whose header (SES_Header.version, TBS_Sign.version) says 5 has
// the v4 structure and is read as v4; [Seal.VersionNumber] and
// [Signature.VersionNumber] report it as version 5.
//
// It must not: do I/O, hold keys (signers are crypto.Signer), know about
// HTTP, storage or the ledger, or decide trust (verifier/seal does, with
// the roots and status its caller gives it).
package ses
