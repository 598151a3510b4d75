// Package catalog is the licence class catalogue: what each of the 17
// classes of electronic licence (电子证照) issued under Shanghai's 一网通办
// programme is, and how a licence record of each class is checked.
//
// A licence class (证照类型) — 营业执照, 居民身份证, 不动产权证书 … — has
//
//   - a stable ASCII key ("business-license"), a GB/T 36904 type code (21
//     characters) and names in Chinese and English;
//   - the kind of agency that issues it (市场监督管理局, 公安局 …);
//   - a holder kind: an organisation (统一社会信用代码), a person
//     (公民身份号码) or either, and the fields that name the holder and
//     hold the holder's code;
//   - its fields as printed on the paper licence, each with a type from a
//     closed set ([FieldType]), whether it is required, a maximum length,
//     enum values or a pattern, and its visibility in a QR presentation:
//     always shown, optional (the holder chooses) or never;
//   - a validity policy: a fixed term of N years (or 长期), a term set
//     licence by licence, or none;
//   - the maximum age of status data a counter may rely on, and whether
//     it fails or warns beyond it;
//   - whether it is one of the four pilot classes.
//
// The classes live in classes.json, embedded in the package and parsed once
// by [Default]; [Parse] reads and fully validates any file of the same
// format, so adding an 18th class, or replacing the placeholder type codes
// with a platform's real ones, is a data change. The file's "_note" and
// "type_code_scheme" members explain the placeholder type codes: an
// 18-character 统一社会信用代码 of a fictitious defining agency per issuer
// kind (organisation code in the GB 11714 self-defined range PDY, never
// assigned to a real organisation) followed by a 3-digit sequence number,
// so that they form valid GB/T 36904 identifiers with package ident.
//
// [Class.Validate] checks a licence record (field key → value) and reports
// every bad field at once in a [*ValidationError]; each [FieldError] wraps a
// sentinel of this package ([ErrRequired], [ErrUnknownField], [ErrTooLong],
// [ErrPattern], [ErrFormat], [ErrRange]) or, for code-typed fields, the
// *ident.Error from package ident, which owns the 统一社会信用代码,
// 公民身份号码 and 组织机构代码 algorithms.
//
// Values are strings in one canonical form each (dates YYYY-MM-DD, terms
// "YYYY-MM-DD至YYYY-MM-DD" or "…至长期", no surrounding white space); nothing
// is normalised, because licence values are signed and compared byte for
// byte. Callers that accept typed input normalise it first.
//
// Sample records for every class, with valid check characters, are in
// testdata/samples.json for other packages' tests and demos.
//
// The package only describes and checks: it does no I/O beyond reading its
// embedded file, knows nothing of HTTP, storage, signatures or QR encoding,
// and never panics on any input to Parse or Validate. A parsed [Catalog] and
// its classes are read-only and safe for concurrent use.
package catalog
