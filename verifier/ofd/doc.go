// Package ofd verifies the digital signatures of an OFD (GB/T 33190)
// document, offline, and gives one typed verdict per signature and one for
// the document.
//
// [Verify] opens the package with certs/ofd and, for every signature of
// every document body:
//
//   - checks each Reference: CheckMethod must be SM3 (by OID or name), the
//     file must be in the package and its SM3 digest must equal the
//     CheckValue (else DOCUMENT_MODIFIED);
//   - for Type="Seal" (or no Type): SignedValue.dat is a GB/T 38540
//     SES_Signature (v4, a header version 5 read as v4, or the GM/T 0031 v1
//     form), checked by verifier/seal in the GB/T 38540 order with the
//     document digest dataHash = SM3 of the Signature.xml file's bytes (the
//     one form accepted); a seal file named by Signature.xml (Seal/BaseLoc)
//     that differs from the seal inside the signature is noted;
//   - for Type="Sign": SignedValue.dat is a GM/T 0010 SignedData (content
//     type 1.2.156.10197.6.1.4.2.2, or PKCS #7 signedData), one signer, SM3
//     digest, signed attributes whose messageDigest is SM3(Signature.xml),
//     an SM2 signature (default user ID) over the DER of the signed
//     attributes re-tagged as SET, by the certificate inside (matched by
//     issuer and serial number); without signed attributes the SM2
//     signature must be over Signature.xml itself;
//   - trust: a seal's maker certificate, a Sign signer's certificate, must
//     be one of [Options].Trusted (byte for byte) or chain to
//     [Options].Roots, at [Options].At (default now) or, with
//     AtSigningTime, at the signature's own time.
//
// Verdicts, most severe first: MALFORMED, SIGNATURE_INVALID (the
// signature over Signature.xml does not verify, or Signature.xml changed),
// DOCUMENT_MODIFIED (a reference digest differs or a protected file is
// missing), REVOKED, EXPIRED (a certificate or the seal outside its
// validity at the signing time, or a trusted certificate no longer valid
// at the verification time — verify as of signing), UNTRUSTED_MAKER,
// UNTRUSTED_SIGNER, PARTIALLY_PROTECTED (document only: every signature
// VALID but a shown file protected by none), NOT_SIGNED, VALID. Integrity
// is judged before trust: a modified document is DOCUMENT_MODIFIED even
// when its maker is not trusted.
//
// # Licence files
//
// With [Options].Licences set, a document whose metadata names a 证照标识
// (a GB/T 36905 licence file) is also judged by the licence it carries
// (licence.go): its static QR token (证照二维码) must verify at At, status
// included, and name the same licence, holder and agency as the metadata,
// and a VALID seal covering every shown file must have been made with a
// key of that agency in the trust bundle. The document's verdict is then
// LICENCE_NOT_GENUINE, LICENCE_NOT_VALID or LICENCE_UNCHECKED when it
// would otherwise be VALID; Report.Licence says why.
//
// # Coverage
//
// A signature protects exactly the files its References list. What can
// change what a reader shows is computed by certs/ofd (Package.Shown):
// OFD.xml, Document.xml, page and template contents, resource files and
// the fonts, images and colour profiles they name, the annotation list
// and the page annotation files. Each shown file a signature does not
// protect is a warning on that signature, and each one no signature
// protects is a warning on the document: it can be changed without any
// signature failing. The document is VALID only when each shown file is
// protected by at least one VALID signature, and has no other versions
// (DocBody Versions, not read). What is not checked: files reached only
// through page content operators this reader does not interpret (none in
// GB/T 33190 name files outside resources), actions and JavaScript-like
// behaviour of readers, attachments and custom tags (not shown), and
// whether a page's text means what the signer meant.
//
// Certificate quirks OpenSSL accepts (a name attribute written as an
// IA5String holding UTF-8) are read, via internal/gm, and reported as
// notes; the verdict comes from the signatures.
//
// It must not: do I/O other than what its caller passes in, import issuer
// or mobile-sdk, or panic on any input.
package ofd
