// Package ident validates the identifiers that name the parties to an
// electronic licence (电子证照) and builds and parses the licence identifier
// itself.
//
// It owns:
//
//   - 统一社会信用代码 (unified social credit code, GB 32100-2015):
//     [ValidateUSCC], [USCCCheckChar];
//   - 公民身份号码 (citizen identity number, GB 11643-1999):
//     [ValidateResidentID], [ResidentIDCheckChar];
//   - 组织机构代码 (organisation code, GB 11714-1997):
//     [ValidateOrgCode], [OrgCodeCheckChar];
//   - the licence identifier of GB/T 36904-2018 (电子证照标识): [LicenseID],
//     [ParseLicenseID], [ValidateLicenseID] and its ISO/IEC 7064 MOD 37,36
//     check character, [Mod3736Check].
//
// It depends on the standard library only, holds no state, does no I/O and
// knows nothing of storage, HTTP or cryptography. No function panics,
// whatever its input (empty, huge, non-ASCII or invalid UTF-8).
//
// # Errors
//
// Every validator returns nil or an [*Error] that names the identifier kind,
// the offending value, the 0-based character (rune) position of the fault
// where there is one, and one of the sentinels [ErrLength], [ErrCharset],
// [ErrCheck], [ErrDate] or [ErrFormat], to be tested with [errors.Is]. The
// message is ASCII-only English, e.g.
//
//	uscc "91350100M000100Y4X": check character is 'X', want '3'
//
// Checks run in a fixed order and the first failure is reported: length,
// then characters, then structure (codes from fixed tables), then dates, then
// check characters.
//
// Nothing is normalised: surrounding spaces, lower-case letters and
// separators other than those listed below are rejected with a precise
// message; callers that accept typed input should trim and upper-case it
// themselves before validating.
//
// # 统一社会信用代码 (GB 32100-2015)
//
// Eighteen characters from the 31-character set 0-9 A-H J-N P-R T U W-Y (no
// I, O, S, V, Z): registration-authority code (1), institution-category code
// (1), administrative-division code of the registering authority (6 digits,
// GB/T 2260), subject identifier — the GB 11714 organisation code (9) — and a
// check character. The check character c18 satisfies
// c18 = (31 - Σ value(ci)·3^(i-1) mod 31) mod 31 (ISO 7064 style MOD 31
// weights 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28).
//
// Beyond the check character, [ValidateUSCC] requires:
//
//   - the administrative-division code (positions 2-7) to be numeric;
//   - the registration-authority and category codes to be a pair assigned
//     in the published GB 32100 code table (as mirrored from the CODS
//     coding rules): 1 → 1 2 3 9 (机构编制); 2 → 1 9 (外交);
//     3 → 1 2 3 4 5 9 (司法行政); 4 → 1 9 (文化); 5 → 1 2 3 9 (民政);
//     6 → 1 2 9 (旅游); 7 → 1 2 9 (宗教); 8 → 1 9 (工会);
//     9 → 1 2 3 (工商/市场监管); A → 1 9 (中央军委改革和编制办公室);
//     N → 1 2 3 9 (农业); Y → 1 (其他). A code outside this table fails
//     with [ErrFormat]; if an authority adds codes, extend usccCategories;
//   - the embedded organisation code (positions 8-16) to carry a valid
//     GB 11714 check character (position 16), reported as [ErrCheck].
//
// The administrative-division code is not checked against the GB/T 2260
// list, which changes every year.
//
// # 公民身份号码 (GB 11643-1999)
//
// Seventeen digits and a check character: address code (6, GB/T 2260),
// birth date YYYYMMDD (8), sequence code (3) and the ISO 7064 MOD 11-2 check
// character, a digit or upper-case 'X' for ten. [ValidateResidentID] also
// requires:
//
//   - the first two digits to be a province-level code of GB/T 2260:
//     11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71 (台湾), 81 (香港),
//     82 (澳门), or 83 (the code used in the numbers of residence permits
//     issued to Taiwan residents; 81 and 82 likewise serve Hong Kong and
//     Macao residents). Codes beginning with 9 are not 公民身份号码 (the
//     2023 foreigner permanent-residence number starts with 9 and is a
//     different identifier) and fail with [ErrFormat];
//   - the birth date to be a real Gregorian date (leap years included), not
//     before 1800-01-01 and not after today in China Standard Time (UTC+8),
//     else [ErrDate].
//
// A lower-case 'x' check character is rejected ([ErrCharset]) with a message
// saying so: GB 11643 prints only the capital, and accepting both would give
// one person two spellings in licence metadata, where the holder code is
// compared byte for byte.
//
// # 组织机构代码 (GB 11714-1997)
//
// Eight body characters (digits or upper-case letters A-Z, valued 0-9 and
// 10-35) and a check character c9 = 11 - (Σ value(ci)·wi mod 11) with weights
// 3, 7, 9, 10, 5, 8, 4, 2, written 'X' for 10 and '0' for 11. Both the
// printed form "XXXXXXXX-C" (ASCII hyphen-minus) and the machine form
// "XXXXXXXXC" are accepted. Codes in the self-defined range PDY00001-PDY99999
// (自定义区, for internal use only) are accepted like any other.
//
// # Licence identifier (GB/T 36904-2018)
//
// The full text of GB/T 36904 could not be consulted. The layout below is
// taken from the design guide, from public descriptions of the standard (its
// check character is ISO/IEC 7064 MOD 37,36, as adopted by GB/T 17710) and
// from identifiers and issuing code that provincial e-licence platforms have
// published (see testdata/vectors.json):
//
//	1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>
//
// The parts are:
//
//   - root: the fixed OID arc [LicenseIDRoot] (1.2.156.3005.2);
//   - type code (证照类型代码): 21 characters — the 18-character
//     统一社会信用代码 of the agency that defines the licence type, which
//     must pass [ValidateUSCC], followed by a 3-digit type sequence number
//     (e.g. 11100000000013338W011);
//   - issuer code (颁发机构代码): the issuing agency's 18-character
//     统一社会信用代码, which must pass [ValidateUSCC]. Identifiers that
//     some cities publish carry a 6-digit administrative division code
//     (GB/T 2260) instead: [ParseLicenseID] accepts six digits beginning
//     with a province-level code (the list under 公民身份号码 below) when
//     the check character holds, and [LicenseID.IssuerKind] says which
//     kind was found; [LicenseID.Validate], the check for what elicense
//     issues, still requires the 18-character code;
//   - serial (流水号): 1 to 32 characters from 0-9 A-Z, chosen by the
//     issuer (real identifiers use 9-32 characters, e.g. a date-based
//     number or an upper-case UUID without hyphens; 32 is our upper bound);
//   - version (版本号): three digits 001-999; a re-issue takes the next one;
//   - check (校验位): one character from 0-9 A-Z, the ISO/IEC 7064
//     MOD 37,36 check character computed over the concatenation of type
//     code, issuer code, serial and the three version digits — without the
//     root and without the dots. Every public implementation found computes
//     it this way. Of four identifiers found published, three carry a check
//     character that verifies under it and parse (one of them with a
//     6-digit division code as issuer code), and the fourth, a
//     documentation example, does not verify.
//
// Letters are upper-case only. Parsing is strict, so any identifier that
// parses re-renders byte for byte with [LicenseID.String].
package ident
