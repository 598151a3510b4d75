package ident

import "unicode/utf8"

// usccAlphabet is the GB 32100 character set in value order: the digits and
// the upper-case letters without I, O, S, V and Z.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccValues maps a byte to its value in usccAlphabet, or -1.
var usccValues = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(usccAlphabet); i++ {
		t[usccAlphabet[i]] = int8(i)
	}
	return t
}()

// usccCategories lists, for each registration-authority code (登记管理部门
// 代码), the institution-category codes (机构类别代码) assigned to it by the
// GB 32100 code table published by CODS (see the package documentation).
var usccCategories = map[byte]string{
	'1': "1239",   // 机构编制: 机关, 事业单位, 中央编办直接管理的群众团体, 其他
	'2': "19",     // 外交: 外国常住新闻机构, 其他
	'3': "123459", // 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
	'4': "19",     // 文化: 外国在华文化中心, 其他
	'5': "1239",   // 民政: 社会团体, 民办非企业单位, 基金会, 其他
	'6': "129",    // 旅游: 外国/港澳台旅游部门常驻代表机构, 其他
	'7': "129",    // 宗教: 宗教活动场所, 宗教院校, 其他
	'8': "19",     // 工会: 基层工会, 其他
	'9': "123",    // 工商: 企业, 个体工商户, 农民专业合作社
	'A': "19",     // 中央军委改革和编制办公室: 军队事业单位, 其他
	'N': "1239",   // 农业: 组级, 村级, 乡镇级集体经济组织, 其他
	'Y': "1",      // 其他: one category only
}

const usccWantChars = "a digit or upper-case letter other than I, O, S, V, Z"

// ValidateUSCC reports whether s is a valid 统一社会信用代码 (unified social
// credit code, GB 32100-2015): 18 characters from the 31-character GB 32100
// set, a numeric administrative-division code, a registration-authority and
// category pair from the GB 32100 table, a valid GB 11714 check character on
// the embedded organisation code, and a matching MOD 31 check character.
// It returns nil or an [*Error] of kind "uscc".
func ValidateUSCC(s string) error {
	if err := checkUSCCChars(s, 18); err != nil {
		return err
	}
	// The whole value is now 18 ASCII bytes.
	cats, ok := usccCategories[s[0]]
	if !ok {
		return newError(kindUSCC, s, 0, ErrFormat,
			"registration-authority code '%c' is not assigned by GB 32100; want one of 1-9, A, N, Y", s[0])
	}
	if !containsByte(cats, s[1]) {
		return newError(kindUSCC, s, 1, ErrFormat,
			"institution-category code '%c' is not assigned to registration authority '%c'; want one of %s",
			s[1], s[0], listChars(cats))
	}
	if want := usccCheck(s[:17]); s[17] != want {
		return newError(kindUSCC, s, 17, ErrCheck, "check character is '%c', want '%c'", s[17], want)
	}
	if want := orgCheck(s[8:16]); s[16] != want {
		return newError(kindUSCC, s, 16, ErrCheck,
			"embedded organization code %s-%c: check character is '%c', want '%c'", s[8:16], s[16], s[16], want)
	}
	return nil
}

// USCCCheckChar returns the GB 32100 check character (the 18th character) of
// a 统一社会信用代码 whose first 17 characters are first17. It checks only the
// length and the character set of first17.
func USCCCheckChar(first17 string) (byte, error) {
	if err := checkUSCCChars(first17, 17); err != nil {
		return 0, err
	}
	return usccCheck(first17), nil
}

// checkUSCCChars checks that s has n characters from the GB 32100 set, the
// ones at positions 2-7 being digits.
func checkUSCCChars(s string, n int) error {
	if m := utf8.RuneCountInString(s); m != n {
		return lengthError(kindUSCC, s, m, n)
	}
	pos, c, desc, found := badChar(s, func(i int, c byte) bool {
		if 2 <= i && i <= 7 {
			return isDigit(c)
		}
		return usccValues[c] >= 0
	})
	if !found {
		return nil
	}
	switch {
	case 2 <= pos && pos <= 7:
		return newError(kindUSCC, s, pos, ErrCharset,
			"character %s at position %d is not a digit; the administrative-division code (positions 2-7) is numeric",
			desc, pos)
	case c == 'I' || c == 'O' || c == 'S' || c == 'V' || c == 'Z':
		return newError(kindUSCC, s, pos, ErrCharset,
			"character %s at position %d is not allowed; GB 32100 never uses the letters I, O, S, V, Z", desc, pos)
	default:
		return charsetError(kindUSCC, s, pos, c, desc, usccWantChars)
	}
}

// usccCheck computes the check character over 17 characters of usccAlphabet:
// weights 3^i mod 31, check value (31 - sum mod 31) mod 31.
func usccCheck(first17 string) byte {
	sum, w := 0, 1
	for i := 0; i < len(first17); i++ {
		sum += int(usccValues[first17[i]]) * w
		w = w * 3 % 31
	}
	return usccAlphabet[(31-sum%31)%31]
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// listChars renders "123" as "1, 2, 3".
func listChars(s string) string {
	b := make([]byte, 0, 3*len(s))
	for i := 0; i < len(s); i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, s[i])
	}
	return string(b)
}
