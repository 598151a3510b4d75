package ident

import (
	"elicense/internal/chinatime"
	"time"
	"unicode/utf8"
)

// now is the clock; tests may replace it.
var now = time.Now

// minBirthDate is the earliest birth date accepted, as YYYYMMDD.
const minBirthDate = 18000101

// ValidateResidentID reports whether s is a valid 公民身份号码 (citizen
// identity number, GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check
// character (a digit or upper-case 'X'), with a province-level address code
// and a real birth date between 1800-01-01 and today (China Standard Time).
// A lower-case 'x' is rejected. It returns nil or an [*Error] of kind
// "resident-id".
func ValidateResidentID(s string) error { return ValidateResidentIDAt(s, now()) }

// ValidateResidentIDAt is ValidateResidentID with "today" taken from at
// rather than the clock, for a verifier that judges at a given instant
// (the conformance kit's vectors carry their own now).
func ValidateResidentIDAt(s string, at time.Time) error {
	if n := utf8.RuneCountInString(s); n != 18 {
		return lengthError(kindResidentID, s, n, 18)
	}
	pos, c, desc, found := badChar(s, func(i int, c byte) bool {
		return isDigit(c) || (i == 17 && c == 'X')
	})
	if found {
		switch {
		case pos == 17 && c == 'x':
			return newError(kindResidentID, s, 17, ErrCharset,
				"check character is lower-case 'x'; want upper-case 'X'")
		case pos == 17:
			return newError(kindResidentID, s, 17, ErrCharset,
				"check character %s is not allowed; want a digit or 'X'", desc)
		default:
			return newError(kindResidentID, s, pos, ErrCharset,
				"character %s at position %d is not a digit", desc, pos)
		}
	}
	// s is now 18 ASCII bytes.
	if !isProvince(s[0], s[1]) {
		return newError(kindResidentID, s, 0, ErrFormat,
			"address code %s: %s is not a province-level code of GB/T 2260", s[:6], s[:2])
	}
	if err := checkBirthDate(s, at); err != nil {
		return err
	}
	if want := residentCheck(s[:17]); s[17] != want {
		return newError(kindResidentID, s, 17, ErrCheck, "check character is '%c', want '%c'", s[17], want)
	}
	return nil
}

// ResidentIDCheckChar returns the GB 11643 check character (a digit or 'X')
// of a 公民身份号码 whose first 17 digits are first17. It checks only the
// length and the character set of first17.
func ResidentIDCheckChar(first17 string) (byte, error) {
	if n := utf8.RuneCountInString(first17); n != 17 {
		return 0, lengthError(kindResidentID, first17, n, 17)
	}
	if pos, _, desc, found := badChar(first17, func(_ int, c byte) bool { return isDigit(c) }); found {
		return 0, newError(kindResidentID, first17, pos, ErrCharset,
			"character %s at position %d is not a digit", desc, pos)
	}
	return residentCheck(first17), nil
}

// residentCheck computes the ISO 7064 MOD 11-2 check character over 17
// digits: weights 2^(17-i) mod 11, check value (12 - sum mod 11) mod 11, ten
// written 'X'.
func residentCheck(first17 string) byte {
	sum, w := 0, 1
	for i := len(first17) - 1; i >= 0; i-- {
		w = w * 2 % 11
		sum += int(first17[i]-'0') * w
	}
	v := (12 - sum%11) % 11
	if v == 10 {
		return 'X'
	}
	return byte('0' + v)
}

// isProvince reports whether the two digits a, b are a province-level code
// usable in a 公民身份号码 (see the package documentation).
func isProvince(a, b byte) bool {
	switch d := b - '0'; a {
	case '1':
		return 1 <= d && d <= 5
	case '2':
		return 1 <= d && d <= 3
	case '3':
		return 1 <= d && d <= 7
	case '4':
		return 1 <= d && d <= 6
	case '5':
		return d <= 4
	case '6':
		return 1 <= d && d <= 5
	case '7':
		return d == 1
	case '8':
		return 1 <= d && d <= 3
	}
	return false
}

// checkBirthDate checks the birth date in positions 6-13 of the 18-digit s.
func checkBirthDate(s string, at time.Time) error {
	date := s[6:14]
	year := atoi(s[6:10])
	month := atoi(s[10:12])
	day := atoi(s[12:14])
	if month < 1 || month > 12 {
		return newError(kindResidentID, s, 10, ErrDate,
			"birth date %s is not a calendar date: month %s", date, s[10:12])
	}
	if dim := daysIn(year, month); day < 1 || day > dim {
		return newError(kindResidentID, s, 12, ErrDate,
			"birth date %s is not a calendar date: %s %04d has %d days", date, time.Month(month), year, dim)
	}
	ymd := year*10000 + month*100 + day
	if ymd < minBirthDate {
		return newError(kindResidentID, s, 6, ErrDate, "birth date %s is before 18000101", date)
	}
	t := at.In(chinatime.Zone)
	if today := t.Year()*10000 + int(t.Month())*100 + t.Day(); ymd > today {
		return newError(kindResidentID, s, 6, ErrDate, "birth date %s is after today (%08d, UTC+8)", date, today)
	}
	return nil
}

// atoi converts a short string of ASCII digits.
func atoi(digits string) int {
	n := 0
	for i := 0; i < len(digits); i++ {
		n = n*10 + int(digits[i]-'0')
	}
	return n
}

// daysIn returns the number of days of a month (1-12) in the proleptic
// Gregorian calendar.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
