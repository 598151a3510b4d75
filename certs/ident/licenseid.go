package ident

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// LicenseIDRoot is the OID arc that begins every GB/T 36904 licence
// identifier (电子证照根代码).
const LicenseIDRoot = "1.2.156.3005.2"

const (
	typeCodeLen  = 21  // 18-character USCC of the defining agency + 3 digits
	maxSerialLen = 32  // our bound; see the package documentation
	maxVersion   = 999 // three digits
)

// LicenseID is a GB/T 36904 licence identifier (电子证照标识) without its
// check character, which is derived. Its text form is
//
//	1.2.156.3005.2.<TypeCode>.<IssuerCode>.<Serial>.<Version:%03d>.<check>
//
// See the package documentation for the rules each part follows.
type LicenseID struct {
	// TypeCode is the 21-character licence type code (证照类型代码): the
	// 统一社会信用代码 of the agency that defines the type, then three digits.
	TypeCode string
	// IssuerCode is the issuing agency's 18-character 统一社会信用代码
	// (颁发机构代码).
	IssuerCode string
	// Serial is the issuer's serial number (流水号): 1 to 32 characters
	// from 0-9 A-Z.
	Serial string
	// Version is the issue version (版本号), 1 to 999, rendered as three
	// digits; a re-issue takes the next one.
	Version int
}

// String returns the full identifier, check character included. For an id
// that does not pass [LicenseID.Validate] the result is not a valid
// identifier: a check character that cannot be computed is shown as '?'.
func (id LicenseID) String() string {
	ver := formatVersion(id.Version)
	check, ok := licenseCheck(id.TypeCode, id.IssuerCode, id.Serial, ver)
	if !ok {
		check = '?'
	}
	var b strings.Builder
	b.Grow(len(LicenseIDRoot) + len(id.TypeCode) + len(id.IssuerCode) + len(id.Serial) + len(ver) + 6)
	b.WriteString(LicenseIDRoot)
	b.WriteByte('.')
	b.WriteString(id.TypeCode)
	b.WriteByte('.')
	b.WriteString(id.IssuerCode)
	b.WriteByte('.')
	b.WriteString(id.Serial)
	b.WriteByte('.')
	b.WriteString(ver)
	b.WriteByte('.')
	b.WriteByte(check)
	return b.String()
}

// Validate reports whether every part of id follows GB/T 36904 as described
// in the package documentation, as elicense issues identifiers: the issuer
// code must be an 18-character USCC (a 6-digit division code, which
// [ParseLicenseID] accepts in identifiers others issued, is refused). It
// returns nil or an [*Error] of kind "license-id" whose Value is
// id.String() and whose Pos indexes into it.
func (id LicenseID) Validate() error {
	s := id.String()
	off := len(LicenseIDRoot) + 1
	var offs [3]int
	for i, part := range [...]string{id.TypeCode, id.IssuerCode, id.Serial} {
		offs[i] = off
		off += utf8.RuneCountInString(part) + 1
	}
	if err := validateBody(s, id, offs[0], offs[1], offs[2], false); err != nil {
		return err
	}
	return checkVersion(s, id.Version, off)
}

// IssuerKind says what kind of code a licence identifier's issuer code is.
type IssuerKind string

// The issuer code kinds.
const (
	// IssuerUSCC is the issuing agency's 18-character 统一社会信用代码
	// (GB 32100), the form GB/T 36904 gives and the one elicense issues.
	IssuerUSCC IssuerKind = "uscc"
	// IssuerDivision is a 6-digit administrative division code (行政区划代码,
	// GB/T 2260), which some cities' published identifiers carry instead.
	IssuerDivision IssuerKind = "division"
)

// Description returns the kind in words, e.g. "6-digit GB/T 2260
// administrative division code (行政区划代码)".
func (k IssuerKind) Description() string {
	switch k {
	case IssuerUSCC:
		return "18-character unified social credit code (统一社会信用代码, GB 32100)"
	case IssuerDivision:
		return "6-digit administrative division code (行政区划代码, GB/T 2260)"
	}
	return "unknown issuer code kind"
}

// IssuerKind returns the kind of id's issuer code: IssuerDivision for six
// digits, else IssuerUSCC.
func (id LicenseID) IssuerKind() IssuerKind {
	if isDivisionCode(id.IssuerCode) {
		return IssuerDivision
	}
	return IssuerUSCC
}

// isDivisionCode reports whether s has the shape of a GB/T 2260 code: six
// digits beginning with a province-level code.
func isDivisionCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// NextVersion returns the identifier of the re-issue of id: the same type
// code, issuer and serial with the version one higher. It fails if id is not
// valid, or with [ErrFormat] if id already has version 999.
func (id LicenseID) NextVersion() (LicenseID, error) {
	if err := id.Validate(); err != nil {
		return LicenseID{}, err
	}
	if id.Version >= maxVersion {
		s := id.String()
		return LicenseID{}, newError(kindLicenseID, s, utf8.RuneCountInString(s)-5, ErrFormat,
			"version %03d is the last; a re-issue needs a new serial", id.Version)
	}
	id.Version++
	return id, nil
}

// ParseLicenseID parses a GB/T 36904 licence identifier. Parsing is strict —
// upper-case letters only, exactly three version digits, nothing around the
// identifier — so that a parsed identifier's String is the input again. It
// returns an [*Error] of kind "license-id" that says which part is wrong:
// the root, the number of parts, the type code, the issuer code (checked
// with [ValidateUSCC], or six digits beginning with a GB/T 2260
// province-level code: see [LicenseID.IssuerKind]), the serial, the
// version or the check character (naming the expected one).
func ParseLicenseID(s string) (LicenseID, error) {
	const prefix = LicenseIDRoot + "."
	if !strings.HasPrefix(s, prefix) {
		i := 0
		for i < len(s) && i < len(prefix) && s[i] == prefix[i] {
			i++
		}
		return LicenseID{}, newError(kindLicenseID, s, i, ErrFormat,
			"does not begin with the root %q: differs at position %d", prefix, i)
	}
	rest := s[len(prefix):]
	const wantParts = "want 5 (type code, issuer code, serial, version, check)"
	var parts [5]string
	n, r := 0, rest
	for ; n < len(parts)-1; n++ {
		i := strings.IndexByte(r, '.')
		if i < 0 {
			break
		}
		parts[n], r = r[:i], r[i+1:]
	}
	parts[n] = r
	if n++; n != len(parts) {
		return LicenseID{}, newError(kindLicenseID, s, -1, ErrFormat,
			"has %d dot-separated parts after the root, %s", n, wantParts)
	}
	if i := strings.IndexByte(r, '.'); i >= 0 { // point at the fifth dot
		dot := len(s) - len(r) + i
		return LicenseID{}, newError(kindLicenseID, s, utf8.RuneCountInString(s[:dot]), ErrFormat,
			"has %d dot-separated parts after the root, %s", strings.Count(rest, ".")+1, wantParts)
	}
	var offs [5]int
	off := len(prefix)
	for i, p := range parts {
		offs[i] = off
		off += utf8.RuneCountInString(p) + 1
	}
	id := LicenseID{TypeCode: parts[0], IssuerCode: parts[1], Serial: parts[2]}
	if err := validateBody(s, id, offs[0], offs[1], offs[2], true); err != nil {
		return LicenseID{}, err
	}
	ver := parts[3]
	if n := utf8.RuneCountInString(ver); n != 3 {
		return LicenseID{}, newError(kindLicenseID, s, offs[3], ErrLength,
			"version has %d characters, want 3 digits", n)
	}
	if pos, _, desc, found := badChar(ver, func(_ int, c byte) bool { return isDigit(c) }); found {
		return LicenseID{}, newError(kindLicenseID, s, offs[3]+pos, ErrCharset,
			"version: character %s at position %d is not a digit", desc, pos)
	}
	id.Version = atoi(ver)
	if err := checkVersion(s, id.Version, offs[3]); err != nil {
		return LicenseID{}, err
	}

	check := parts[4]
	if n := utf8.RuneCountInString(check); n != 1 {
		return LicenseID{}, newError(kindLicenseID, s, offs[4], ErrLength,
			"check part has %d characters, want 1", n)
	}
	if _, c, desc, found := badChar(check, func(_ int, c byte) bool { return isDigit(c) || isUpper(c) }); found {
		what := "is not allowed"
		if isLower(c) {
			what = "is lower-case"
		}
		return LicenseID{}, newError(kindLicenseID, s, offs[4], ErrCharset,
			"check character %s %s; want a digit or upper-case letter", desc, what)
	}
	want, ok := licenseCheck(id.TypeCode, id.IssuerCode, id.Serial, ver)
	if !ok { // unreachable: the parts were validated
		return LicenseID{}, newError(kindLicenseID, s, -1, ErrCharset, "cannot compute the check character")
	}
	if check[0] != want {
		return LicenseID{}, newError(kindLicenseID, s, offs[4], ErrCheck,
			"check character is '%c', want '%c'", check[0], want)
	}
	return id, nil
}

// ValidateLicenseID reports whether s is a valid GB/T 36904 licence
// identifier; it is [ParseLicenseID] without the result.
func ValidateLicenseID(s string) error {
	_, err := ParseLicenseID(s)
	return err
}

// validateBody checks the type code, issuer code and serial of id, which
// begin at character offsets typeOff, issuerOff and serialOff in the
// identifier s. With division, a 6-digit GB/T 2260 issuer code is
// accepted besides a USCC.
func validateBody(s string, id LicenseID, typeOff, issuerOff, serialOff int, division bool) error {
	if err := checkTypeCode(id.TypeCode); err != nil {
		return nested(err, kindLicenseID, s, typeOff, "type code")
	}
	if division && isDivisionCode(id.IssuerCode) {
		if !isProvince(id.IssuerCode[0], id.IssuerCode[1]) {
			return newError(kindLicenseID, s, issuerOff, ErrFormat,
				"issuer code %s is six digits but %s is not a GB/T 2260 province-level code", id.IssuerCode, id.IssuerCode[:2])
		}
	} else if err := ValidateUSCC(id.IssuerCode); err != nil {
		return nested(err, kindLicenseID, s, issuerOff, "issuer code")
	}
	n := utf8.RuneCountInString(id.Serial)
	if n < 1 || n > maxSerialLen {
		return newError(kindLicenseID, s, serialOff, ErrLength,
			"serial has %d characters, want 1 to %d", n, maxSerialLen)
	}
	if pos, c, desc, found := badChar(id.Serial, func(_ int, c byte) bool { return isDigit(c) || isUpper(c) }); found {
		return nested(charsetError(kindLicenseID, id.Serial, pos, c, desc, "a digit or upper-case letter"),
			kindLicenseID, s, serialOff, "serial")
	}
	return nil
}

// checkVersion checks that v, at character offset off in s, is 1 to 999.
func checkVersion(s string, v, off int) error {
	if v < 1 || v > maxVersion {
		return newError(kindLicenseID, s, off, ErrFormat,
			"version %s is out of range; want 001 to 999", formatVersion(v))
	}
	return nil
}

// checkTypeCode checks a 21-character type code: a valid USCC and three
// digits. Positions in its errors are relative to the type code.
func checkTypeCode(tc string) error {
	if n := utf8.RuneCountInString(tc); n != typeCodeLen {
		return newError(kindLicenseID, tc, -1, ErrLength,
			"has %d characters, want 21 (the defining agency's 18-character USCC and 3 digits)", n)
	}
	// Reject non-ASCII first, so that tc[:18] cannot cut a character.
	if pos, c, desc, found := badChar(tc, func(int, byte) bool { return true }); found {
		return charsetError(kindLicenseID, tc, pos, c, desc, "a digit or upper-case letter")
	}
	if err := ValidateUSCC(tc[:18]); err != nil {
		return nested(err, kindLicenseID, tc, 0, "defining agency")
	}
	if pos, _, desc, found := badChar(tc[18:], func(_ int, c byte) bool { return isDigit(c) }); found {
		return newError(kindLicenseID, tc, 18+pos, ErrCharset,
			"character %s at position %d is not a digit; the type sequence number (positions 18-20) is numeric",
			desc, 18+pos)
	}
	return nil
}

// formatVersion renders v with at least three digits.
func formatVersion(v int) string {
	if 0 <= v && v <= maxVersion {
		return string([]byte{byte('0' + v/100), byte('0' + v/10%10), byte('0' + v%10)})
	}
	return strconv.Itoa(v)
}

// alnum36 is the ISO/IEC 7064 MOD 37,36 alphabet in value order.
const alnum36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// Mod3736Check returns the ISO/IEC 7064 MOD 37,36 check character of s (the
// hybrid system over 0-9 A-Z, adopted in China as GB/T 17710): starting from
// p = 36, for each character of value v, t = (p + v) mod 36 (36 if 0) and
// p = 2t mod 37; the check character has the value c with (p + c) mod 36 = 1.
// s must be non-empty and use only digits and upper-case letters.
//
// A licence identifier's check character is Mod3736Check of the
// concatenation of its type code, issuer code, serial and three version
// digits — root and dots excluded (see the package documentation). Errors
// are of kind "license-id".
func Mod3736Check(s string) (byte, error) {
	if s == "" {
		return 0, newError(kindLicenseID, s, -1, ErrLength, "check input is empty")
	}
	p, ok := mod3736(36, s)
	if !ok {
		pos, c, desc, _ := badChar(s, func(_ int, c byte) bool { return isDigit(c) || isUpper(c) })
		return 0, charsetError(kindLicenseID, s, pos, c, desc, "a digit or upper-case letter")
	}
	return mod3736Char(p), nil
}

// licenseCheck computes the check character of a licence identifier over
// its parts without concatenating them; ok is false if a part has a
// character outside 0-9 A-Z.
func licenseCheck(parts ...string) (check byte, ok bool) {
	p := 36
	for _, s := range parts {
		if p, ok = mod3736(p, s); !ok {
			return 0, false
		}
	}
	return mod3736Char(p), true
}

// mod3736 runs the MOD 37,36 recursion from p over s: for each character of
// value v, t = (p + v) mod 36 (36 if 0) and p = 2t mod 37. It reports false
// on a character outside 0-9 A-Z.
func mod3736(p int, s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case isDigit(c):
			v = int(c - '0')
		case isUpper(c):
			v = int(c-'A') + 10
		default:
			return p, false
		}
		t := (p + v) % 36
		if t == 0 {
			t = 36
		}
		p = 2 * t % 37
	}
	return p, true
}

// mod3736Char returns the check character c with (p + c) mod 36 = 1.
func mod3736Char(p int) byte {
	return alnum36[(37-p)%36]
}
