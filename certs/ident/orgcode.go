package ident

import "unicode/utf8"

// orgWeights are the GB 11714 weights of the eight body characters.
var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

const orgBodyWant = "a digit or upper-case letter A-Z"

// ValidateOrgCode reports whether s is a valid 组织机构代码 (organisation code,
// GB 11714-1997): eight digits or upper-case letters and a check character,
// written either "XXXXXXXX-C" or "XXXXXXXXC". It returns nil or an [*Error]
// of kind "org-code".
func ValidateOrgCode(s string) error {
	n := utf8.RuneCountInString(s)
	if n != 9 && n != 10 {
		return newError(kindOrgCode, s, -1, ErrLength,
			"has %d characters, want 9 (XXXXXXXXC) or 10 (XXXXXXXX-C)", n)
	}
	pos, c, desc, found := badChar(s, func(i int, c byte) bool {
		switch {
		case i < 8:
			return isDigit(c) || isUpper(c)
		case i == 8 && n == 10:
			return c == '-'
		default: // the check character
			return isDigit(c) || c == 'X'
		}
	})
	if found {
		switch {
		case pos < 8:
			return charsetError(kindOrgCode, s, pos, c, desc, orgBodyWant)
		case pos == 8 && n == 10:
			return newError(kindOrgCode, s, pos, ErrFormat,
				"character %s at position 8 is not the separator '-'", desc)
		case c == 'x':
			return newError(kindOrgCode, s, pos, ErrCharset,
				"check character is lower-case 'x'; want upper-case 'X'")
		default:
			return newError(kindOrgCode, s, pos, ErrCharset,
				"check character %s at position %d is not allowed; want a digit or 'X'", desc, pos)
		}
	}
	// s is now 9 or 10 ASCII bytes.
	last := len(s) - 1
	if want := orgCheck(s[:8]); s[last] != want {
		return newError(kindOrgCode, s, last, ErrCheck, "check character is '%c', want '%c'", s[last], want)
	}
	return nil
}

// OrgCodeCheckChar returns the GB 11714 check character of the eight-character
// organisation-code body body8: a digit or 'X'. It checks only the length and
// the character set of body8.
func OrgCodeCheckChar(body8 string) (byte, error) {
	if n := utf8.RuneCountInString(body8); n != 8 {
		return 0, lengthError(kindOrgCode, body8, n, 8)
	}
	if pos, c, desc, found := badChar(body8, func(_ int, c byte) bool {
		return isDigit(c) || isUpper(c)
	}); found {
		return 0, charsetError(kindOrgCode, body8, pos, c, desc, orgBodyWant)
	}
	return orgCheck(body8), nil
}

// orgCheck computes the GB 11714 check character over eight digits or
// upper-case letters (valued 0-9, 10-35): 11 - (weighted sum mod 11), 10
// written 'X' and 11 written '0'.
func orgCheck(body8 string) byte {
	sum := 0
	for i := 0; i < 8 && i < len(body8); i++ {
		c := body8[i]
		v := 0
		switch {
		case isDigit(c):
			v = int(c - '0')
		case isUpper(c):
			v = int(c-'A') + 10
		}
		sum += v * orgWeights[i]
	}
	switch v := 11 - sum%11; v {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + v)
	}
}
