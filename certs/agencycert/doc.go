// Package agencycert is what an elicense certificate says beyond plain
// X.509: which role it plays (trust anchor, agency issuing key, ledger and
// status signer) and, for an agency certificate, the agency's code (颁发机构
// 代码, an 18-character 统一社会信用代码) and the licence classes it may issue.
//
// It owns the encoding of those facts in a certificate, their strict parsing
// ([FromCertificate], [ParsePolicy], [RoleOf]) and the class check
// ([Policy.Allows]). It makes no certificates and holds no keys (issuer/pki
// does), performs no I/O, and imports only certs and internal packages.
//
// # Encoding
//
// Both facts are X.509 attributes in the standard, non-critical Subject
// Directory Attributes extension (id-ce-subjectDirectoryAttributes,
// 2.5.29.9, RFC 5280 §4.2.1.8), under attribute types of our own in the
// ITU-T X.667 UUID arc, so that we squat on no one's arc:
//
//	elicenseRole   2.25.224523559421458694417872874496817008374
//	               (UUID a8e9aa25-422c-4f90-b844-f7036dea8ef6)
//	               value ENUMERATED { root(1), agency(2), ledger(3) }
//	elicensePolicy 2.25.7627945231086746449576750595306452993
//	               (UUID 05bd16bc-7ac3-47fa-a7b7-fabd57e07801)
//	               value AgencyPolicy
//
//	AgencyPolicy ::= SEQUENCE {
//	    agencyCode UTF8String (SIZE (18)),  -- 统一社会信用代码, GB 32100
//	    classes    SEQUENCE SIZE (1..MAX) OF PrintableString (SIZE (21))
//	                                        -- GB/T 36904 licence type codes
//	}
//
// Each attribute has exactly one value. An agency certificate carries both
// attributes (role agency); the root, the ledger and the receipt
// certificate carry the role only.
//
// Why not a private extension with a UUID OID: a UUID arc is a 122-bit
// number, and Go's X.509 parsers (crypto/x509 and gmsm's smx509, which
// internal/gm uses) refuse any extension OID with an arc of 2^31 or more:
// a certificate carrying extension 2.25.<uuid> fails to parse with
// "x509: malformed extension OID field" (OpenSSL reads it). Attribute types
// inside Subject Directory Attributes are not parsed by Go, so the UUID
// arc works there, and OpenSSL, Go and tjfoc/gmsm all read the certificate.
//
// Why type codes rather than class keys: the type code (证照类型代码) is the
// GB/T 36904 identifier that every licence identifier
// (1.2.156.3005.2.<type code>.<issuer code>...) embeds, so a verifier,
// ours or a third party's, matches a licence to its signing certificate
// without our catalogue. Class keys are this project's own slugs. The
// catalogue's type codes are placeholders that a deployment replaces before
// it issues anything; certificates are made after that (replacing a type
// code also changes every licence identifier, so the agency certificates
// would be reissued with the licences in any case). [Policy.Extension]
// accepts keys, type codes or Chinese names and writes type codes;
// [Policy.Allows] accepts any of the three.
//
// # Roles
//
// [RoleOf] combines the role attribute with the basic constraints and key
// usage, and rejects a certificate whose parts disagree:
//
//   - root: a self-issued CA certificate with keyCertSign (a role attribute,
//     if present, must say root; a trust anchor made elsewhere has none);
//   - agency: an end-entity certificate with digitalSignature and the
//     policy attribute;
//   - ledger: an end-entity certificate with digitalSignature and the role
//     attribute ledger, and no policy. It signs ledger checkpoints, status
//     lists and trust bundles;
//   - receipt: an end-entity certificate with keyEncipherment and no
//     signing key usage, the role attribute receipt, and no policy. It is
//     the platform's SM2 encryption key for counter receipts
//     (docs/consent.md §9).
//
// Extended key usage is not used: its OIDs go through the same Go parser
// limit, and gm.VerifyChain does not constrain it.
package agencycert
