// Package ofd reads OFD (GB/T 33190-2016) packages strictly: the zip
// container, the document structure a reader needs to know what is shown
// (OFD.xml → DocBody → Document.xml → pages, templates, resources,
// annotations), and the digital signatures (Signatures.xml, each
// Signature.xml and its SignedValue.dat). It also writes a container
// deterministically ([Writer]), for producers of OFD files.
//
// It owns:
//   - [Open]: the zip container under [Limits] (entry count, per-entry and
//     total uncompressed size, compression ratio), with entry names that
//     must be clean relative paths: an absolute name, a name that climbs
//     ("../"), a backslash, a control character, an encrypted entry or a
//     name duplicated (also when compared case-folded) is refused, and
//     the local headers must tile the file up to the central directory as
//     it names them (nothing hidden from it, nothing prepended);
//   - a strict XML reader: encoding/xml in strict mode, UTF-8 only, no
//     DTD (so no entity can be declared), every element in the OFD
//     namespace, attributes, depth and element count bounded; elements
//     deeper than what is read of a part are checked but not kept, and
//     their long runs of plain text (a path's data) are not even given to
//     the decoder (squeeze: nothing kept, collected or refused changes);
//     each part is parsed once;
//   - the parts: [Root] (OFD.xml), [Document], [Signatures], [Signature]
//     (SignedInfo, References with their CheckMethod and base64
//     CheckValues, Seal, StampAnnot, SignedValue), and [Package.Shown],
//     the files that can change what a reader displays, and
//     [Package.PageTexts], the text a page's TextObjects show, from the
//     same parse;
//   - [Resolve]: ST_Loc paths ("/…" from the package root, others relative
//     to the file naming them), refused if they climb out of the package.
//
// Every error is an [*Error] naming the part and wrapping one sentinel
// ([ErrZip], [ErrLimit], [ErrPath], [ErrXML], [ErrStructure], [ErrMissing])
// for errors.Is.
//
// # Tolerated variants
//
// The namespace "http://www.ofdspec.org" (without "/2016"), which some
// producers write in OFD.xml, is read like the standard one and reported in
// [Package.Notes]. A missing Signature Type means Seal, as the standard
// says. CheckMethod may name SM3 by OID (1.2.156.10197.1.401) or by name.
//
// It must not: verify signatures or decide trust (verifier/ofd does), do
// any I/O other than reading the bytes it is given, write files, or panic
// on any input.
package ofd
