// Package ofdfile builds the licence file of GB/T 36905: an OFD (GB/T
// 33190) document laid out like the licence face, carrying the licence's
// GB/T 36903 metadata and sealed by the issuing agency with its
// licence-face seal (GB/T 38540 SES_Signature v4). It is what a holder
// downloads, prints, attaches and archives, and what any OFD reader opens
// and checks.
//
// [Build] makes the package for a licence of any catalogue class:
//
//   - OFD.xml: DocInfo (DocID = SM3 of the licence identifier, the class
//     name as Title, the agency as Author, the signing day as
//     CreationDate) with the GB/T 36903 metadata in CustomDatas: 证照标识,
//     证照类型代码, 证照名称, 证照编号 (when printed), 颁发机构, 颁发机构代码,
//     颁证日期, 有效期起始日期, 有效期截止日期 (a date or 长期), 持证主体,
//     持证主体代码类型, 持证主体代码 only when the class prints it on paper,
//     电子印章标识, 证照二维码, as certs/archive.FileItems gives them (the
//     archive verifier checks a file's items against the same rule);
//   - one page (more when the fields do not fit) in A4 showing the
//     licence's face as certs/archive.LicenceFace derives it (the archive
//     verifier reads the pages against the same): the class name as
//     title, the printed fields of the class with their catalogue labels,
//     in catalogue order (a field that fits on a page is kept whole; a
//     longer one is split line by line, its label marked （续） on each
//     further page), and on the last page the static QR, the agency, the
//     issue date and the identifier;
//   - the QR as vector graphics (GB/T 33190 §9): one filled PathObject,
//     quiet zone included in its square, in module units scaled by the
//     object's CTM, the outline of each region of dark modules with a
//     vertex only at its corners. It prints sharp at any scale and needs
//     no image resource or PNG encoding (docs/performance.md);
//   - fonts by their standard names only (宋体 for text, 黑体 for the
//     title), with no FontFile: every Chinese OFD reader maps those names
//     to the system's fonts, embedding a CJK font would add megabytes to
//     every licence (or a subsetting step), and the fonts readers expect
//     under those names are not ours to redistribute. A reader without
//     them substitutes its default CJK font: the glyphs look different but
//     every glyph keeps its place, since each text object gives every
//     glyph's advance (DeltaX); nothing is hidden or reflowed;
//   - the agency's signature, as GB/T 33190 §18 and the ofdrw samples
//     have it: Doc_0/Signs/Signatures.xml lists Sign_0 (Type="Seal"), whose
//     Signature.xml has SignedInfo (Provider, SignatureMethod
//     1.2.156.10197.1.501, SignatureDateTime in GeneralizedTime, References
//     with CheckMethod 1.2.156.10197.1.401 and the SM3 of every file of the
//     package except Signatures.xml and the signature's own files, and a
//     StampAnnot where the seal goes on the last page) and SignedValue.dat,
//     an SES_Signature v4 made with the seal and its key over SM3 of
//     Signature.xml's bytes.
//
// The seal picture is not drawn in the page content: readers draw it from
// the seal inside SignedValue.dat at the StampAnnot's boundary, so the
// seal shows exactly when the signature is there.
//
// What the file prints is what the paper licence prints (the fields the
// catalogue marks printed): the file goes to the holder and to whomever
// the holder gives it, as the paper does. That is why the holder's code is
// in the metadata only for classes that print it.
//
// The output is deterministic: the same licence, seal and signing time
// give the same bytes (fixed zip times and order, SM2 with deterministic
// nonces when the key is a file key, *gm.PrivateKey; an HSM signer that
// draws its own nonces gives a different, equally valid, SignedValue.dat).
//
// It must not: do I/O, read the issuer's state or decide who may have the
// file (issuer/service does), or verify signatures (verifier/ofd does).
package ofdfile
