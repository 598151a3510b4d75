package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"elicense/certs/ident"
)

// A FieldType is the type of a field's value. The set is closed: [Parse]
// rejects any other name.
type FieldType string

// The field types. Every value is a string; the type fixes its canonical
// form, which [Field.Validate] checks.
const (
	// TypeText is one line of text: no control characters, no leading or
	// trailing white space. max_len is required.
	TypeText FieldType = "text"
	// TypeLongText is text that may contain line breaks ("\n"). max_len is
	// required.
	TypeLongText FieldType = "longtext"
	// TypeDate is a calendar date, YYYY-MM-DD, years 1800 to 2199, within
	// the bounds of its field's [DateKind].
	TypeDate FieldType = "date"
	// TypeDateTime is a date and time to the minute, "YYYY-MM-DD hh:mm",
	// years 1800 to 2199, its day within the bounds of its [DateKind].
	TypeDateTime FieldType = "datetime"
	// TypeTerm is a period: "YYYY-MM-DD至YYYY-MM-DD" (start not after end),
	// "YYYY-MM-DD至长期" (open-ended) or "长期"; both dates within the
	// bounds of its field's [DateKind].
	TypeTerm FieldType = "term"
	// TypeEnum is one of the field's Values, exactly.
	TypeEnum FieldType = "enum"
	// TypeMoney is an amount with its currency or unit, as printed:
	// "100万元人民币", "人民币100.0000万元", "50万美元", "1280000元".
	TypeMoney FieldType = "money"
	// TypeUSCC is a 统一社会信用代码, checked by [ident.ValidateUSCC].
	TypeUSCC FieldType = "uscc"
	// TypeResidentID is a 公民身份号码, checked by [ident.ValidateResidentID].
	TypeResidentID FieldType = "resident_id"
	// TypeOrgCode is a 组织机构代码, checked by [ident.ValidateOrgCode].
	TypeOrgCode FieldType = "org_code"
	// TypeUSCCOrResidentID is a 统一社会信用代码 or a 公民身份号码, for
	// holders that may be organisations or persons.
	TypeUSCCOrResidentID FieldType = "uscc_or_resident_id"
	// TypeLicenceNo is a document number without white space; its pattern
	// is required.
	TypeLicenceNo FieldType = "licence_no"
	// TypePlateNo is a motor-vehicle plate number (GA 36) without the
	// separator dot: province abbreviation, issuing-authority letter and
	// five characters (six for new-energy vehicles), e.g. "沪AD12345".
	TypePlateNo FieldType = "plate_no"
	// TypeVIN is a 17-character vehicle identification number (GB 16735,
	// ISO 3779) with a valid check character in position 9.
	TypeVIN FieldType = "vin"
	// TypePhone is a telephone number: a mainland mobile number
	// (1[3-9]xxxxxxxxx), a fixed line with area code (021-12345678), a
	// 5-digit service number (12315) or a 400/800 number.
	TypePhone FieldType = "phone"
	// TypeInt is a decimal integer in canonical form (no sign for positive
	// numbers, no leading zeros), within the field's Min and Max.
	TypeInt FieldType = "int"
	// TypeArea is an area in square metres, up to 4 decimal places,
	// optionally followed by "㎡", "m²" or "平方米", e.g. "89.56".
	TypeArea FieldType = "area"
)

// fieldTypes lists the known types, in documentation order.
var fieldTypes = []FieldType{
	TypeText, TypeLongText, TypeDate, TypeDateTime, TypeTerm, TypeEnum, TypeMoney,
	TypeUSCC, TypeResidentID, TypeOrgCode, TypeUSCCOrResidentID,
	TypeLicenceNo, TypePlateNo, TypeVIN, TypePhone, TypeInt, TypeArea,
}

// FieldTypes returns the known field types.
func FieldTypes() []FieldType { return slices.Clone(fieldTypes) }

// Valid reports whether t is a known field type.
func (t FieldType) Valid() bool { return slices.Contains(fieldTypes, t) }

// A QRVisibility says whether a field goes in a QR presentation.
type QRVisibility string

// The QR visibilities.
const (
	QRAlways   QRVisibility = "always"   // in every presentation
	QROptional QRVisibility = "optional" // disclosed if the holder chooses
	QRNever    QRVisibility = "never"    // never in a QR; full credential only
)

// Valid reports whether v is a known visibility.
func (v QRVisibility) Valid() bool {
	return v == QRAlways || v == QROptional || v == QRNever
}

// LongTerm is the value (长期) that stands for an open-ended term.
const LongTerm = "长期"

// termSep separates the start and the end of a term.
const termSep = "至"

// Date layouts.
const (
	DateLayout     = "2006-01-02"
	DateTimeLayout = "2006-01-02 15:04"
)

// Dates outside these years are rejected as typing errors.
const (
	minYear = 1800
	maxYear = 2199
)

// A Field is one printed item of a licence class. Fields come from [Parse],
// which compiles their patterns, and are read-only afterwards; a Field built
// by hand checks everything but its Pattern.
type Field struct {
	Key      string       // ASCII key, unique within the class, e.g. "legal_rep"
	Label    string       // Chinese label as printed, e.g. "法定代表人"
	Type     FieldType    // value type
	Required bool         // whether every licence of the class has it
	MaxLen   int          // maximum length in characters (runes); 0: bounded by Type only
	Values   []string     // allowed values of an enum field
	ValueSet string       // name of the shared value set Values came from, if any
	Pattern  string       // regular expression the whole value must match (text, longtext, licence_no)
	Min, Max *int64       // bounds of an int field, if any
	Dates    DateKind     // what a date, datetime or term field records: its bounds
	QR       QRVisibility // whether the field goes in a QR presentation
	Printed  bool         // false for data carried by the e-licence but not printed on paper
	Note     string       // remark from the catalogue file

	re *regexp.Regexp // Pattern, anchored; nil if none
}

// Validate reports whether value is valid for f. An empty value stands for
// an absent one: it fails with [ErrRequired] if f is required and is valid
// otherwise. A non-nil error is a *[FieldError].
func (f *Field) Validate(value string) error {
	if fe := f.validate(value); fe != nil {
		return fe
	}
	return nil
}

func (f *Field) validate(value string) *FieldError {
	if value == "" {
		if f.Required {
			return f.fail(ErrRequired, "required")
		}
		return nil
	}
	if reason, err := f.check(value); err != nil {
		return f.fail(err, reason)
	}
	return nil
}

func (f *Field) fail(err error, reason string) *FieldError {
	return &FieldError{Field: f.Key, Label: f.Label, Reason: reason, Err: err}
}

// check validates a non-empty value, returning a reason and the error to wrap.
func (f *Field) check(v string) (string, error) {
	// Most values are text, and valid: one pass over the bytes tells,
	// where the checks below decode every rune twice. Only a fault takes
	// the long way, for its message.
	if (f.Type == TypeText || f.Type == TypeLongText) && textOK(v, f.MaxLen, f.Type == TypeLongText) {
		if f.re != nil && !f.re.MatchString(v) {
			return fmt.Sprintf("%s does not match the pattern %s", quote(v), f.Pattern), ErrPattern
		}
		return "", nil
	}
	if !utf8.ValidString(v) {
		return "not valid UTF-8", ErrFormat
	}
	if f.MaxLen > 0 {
		// Count no further than needed: values may be huge.
		if n := runeCountUpTo(v, f.MaxLen+1); n > f.MaxLen {
			return fmt.Sprintf("too long: more than %d characters", f.MaxLen), ErrTooLong
		}
	}
	if r, _ := utf8.DecodeRuneInString(v); unicode.IsSpace(r) {
		return "leading white space", ErrFormat
	}
	if r, _ := utf8.DecodeLastRuneInString(v); unicode.IsSpace(r) {
		return "trailing white space", ErrFormat
	}
	if reason, err := checkType(f, v); err != nil {
		return reason, err
	}
	if reason, err := checkDateKind(f, v); err != nil {
		return reason, err
	}
	if f.re != nil && !f.re.MatchString(v) {
		return fmt.Sprintf("%s does not match the pattern %s", quote(v), f.Pattern), ErrPattern
	}
	return "", nil
}

// checkType checks v against f's type; each type's rule is a function of
// its own.
func checkType(f *Field, v string) (string, error) {
	switch f.Type {
	case TypeText:
		return checkText(v, false)
	case TypeLongText:
		return checkText(v, true)
	case TypeDate:
		return checkDate(v)
	case TypeDateTime:
		return checkDateTime(v)
	case TypeTerm:
		return checkTerm(v)
	case TypeEnum:
		return checkEnum(f, v)
	case TypeMoney:
		return checkMoney(v)
	case TypeUSCC:
		return identResult(ident.ValidateUSCC(v))
	case TypeResidentID:
		return identResult(ident.ValidateResidentID(v))
	case TypeOrgCode:
		return identResult(ident.ValidateOrgCode(v))
	case TypeUSCCOrResidentID:
		return identResult(validateUSCCOrResidentID(v))
	case TypeLicenceNo:
		return checkLicenceNo(v)
	case TypePlateNo:
		return checkMatch(plateRE, v, "is not a plate number (e.g. 沪A12345, 沪AD12345)")
	case TypeVIN:
		return checkVIN(v)
	case TypePhone:
		return checkMatch(phoneRE, v, "is not a telephone number")
	case TypeInt:
		return checkInt(f, v)
	case TypeArea:
		return checkMatch(areaRE, v, "is not an area in square metres (e.g. 89.56)")
	default:
		return fmt.Sprintf("unknown type %q", f.Type), ErrFormat
	}
}

// checkMatch checks that v matches re; what completes the reason.
func checkMatch(re *regexp.Regexp, v, what string) (string, error) {
	if !re.MatchString(v) {
		return quote(v) + " " + what, ErrFormat
	}
	return "", nil
}

func checkDate(v string) (string, error) {
	if _, ok := parseDate(v); !ok {
		return fmt.Sprintf("%s is not a date (want YYYY-MM-DD, years %d-%d)", quote(v), minYear, maxYear), ErrFormat
	}
	return "", nil
}

func checkDateTime(v string) (string, error) {
	t, err := time.Parse(DateTimeLayout, v)
	if err != nil || t.Format(DateTimeLayout) != v || t.Year() < minYear || t.Year() > maxYear {
		return fmt.Sprintf("%s is not a date and time (want YYYY-MM-DD hh:mm)", quote(v)), ErrFormat
	}
	return "", nil
}

func checkTerm(v string) (string, error) {
	if _, te := parseTerm(v); te != nil {
		return te.reason, te.err
	}
	return "", nil
}

func checkEnum(f *Field, v string) (string, error) {
	if !slices.Contains(f.Values, v) {
		return fmt.Sprintf("%s is not one of the allowed values (%s)", quote(v), strings.Join(f.Values, "、")), ErrFormat
	}
	return "", nil
}

func checkMoney(v string) (string, error) {
	if !validMoney(v) {
		return fmt.Sprintf("%s is not an amount with a currency (e.g. 100万元人民币)", quote(v)), ErrFormat
	}
	return "", nil
}

func checkLicenceNo(v string) (string, error) {
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Sprintf("%s contains white space or a control character", quote(v)), ErrFormat
		}
	}
	return "", nil
}

func checkInt(f *Field, v string) (string, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != v {
		return fmt.Sprintf("%s is not an integer in canonical form", quote(v)), ErrFormat
	}
	if f.Min != nil && n < *f.Min {
		return fmt.Sprintf("%d is less than %d", n, *f.Min), ErrRange
	}
	if f.Max != nil && n > *f.Max {
		return fmt.Sprintf("%d is more than %d", n, *f.Max), ErrRange
	}
	return "", nil
}

func identResult(err error) (string, error) {
	if err != nil {
		return err.Error(), err
	}
	return "", nil
}

// validateUSCCOrResidentID accepts either code. When both fail, the error
// reported is the one for the kind the value looks like: all digits (bar a
// final X) suggests a 公民身份号码.
func validateUSCCOrResidentID(v string) error {
	errID := ident.ValidateResidentID(v)
	if errID == nil {
		return nil
	}
	errUSCC := ident.ValidateUSCC(v)
	if errUSCC == nil {
		return nil
	}
	body := strings.TrimSuffix(v, "X")
	if body != "" && strings.Trim(body, "0123456789") == "" {
		return errID
	}
	return errUSCC
}

// textOK reports whether v passes everything check and checkText hold a
// text value to, short of the pattern: valid UTF-8, at most max runes (0:
// no limit), no leading or trailing white space, no control characters and
// no line breaks except "\n" when multiline. It looks at bytes, not runes:
// once v is valid UTF-8, a rune starts at each byte that is not 10xxxxxx,
// the C1 controls U+0080-U+009F are C2 80-C2 9F, and U+2028 and U+2029 are
// E2 80 A8 and E2 80 A9.
func textOK(v string, max int, multiline bool) bool {
	if !utf8.ValidString(v) {
		return false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < utf8.RuneSelf:
			if c < ' ' && (c != '\n' || !multiline) || c == 0x7f {
				return false
			}
		case c < 0xc0: // continuation byte
			continue
		case c == 0xc2:
			if v[i+1] < 0xa0 {
				return false
			}
		case c == 0xe2:
			if v[i+1] == 0x80 && (v[i+2] == 0xa8 || v[i+2] == 0xa9) {
				return false
			}
		}
		if n++; max > 0 && n > max {
			return false
		}
	}
	first, _ := utf8.DecodeRuneInString(v)
	last, _ := utf8.DecodeLastRuneInString(v)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// checkText rejects control characters, and line breaks unless multiline
// (where only "\n" is a line break).
func checkText(v string, multiline bool) (string, error) {
	for i, r := range v {
		switch {
		case r == '\n' && multiline:
		case r == '\r' && multiline:
			return fmt.Sprintf("carriage return at byte %d (lines end with \\n alone)", i), ErrFormat
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			return fmt.Sprintf("line break at byte %d (one line only)", i), ErrFormat
		case unicode.IsControl(r):
			return fmt.Sprintf("control character %U at byte %d", r, i), ErrFormat
		}
	}
	return "", nil
}

// parseDate parses a YYYY-MM-DD date within the accepted years: exactly
// what time.Parse(DateLayout, s) accepts and formats back to s, without
// its cost (a licence's dates are parsed a dozen times between validation
// and signing; time.Parse and the Format round trip were most of it).
func parseDate(s string) (time.Time, bool) {
	if len(s) != len(DateLayout) || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < minYear || y > maxYear || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// digits reads a string of ASCII decimal digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days in month m of year y (proleptic Gregorian,
// as package time counts).
func daysIn(m time.Month, y int) int {
	if m == time.February {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int((m-1)%7%2)
}

// A Term is a parsed term value.
type Term struct {
	Start    time.Time // zero for a bare "长期"
	End      time.Time // zero when open-ended
	LongTerm bool      // the term ends 长期
}

// HasStart reports whether the term states its start date.
func (t Term) HasStart() bool { return !t.Start.IsZero() }

// A termError is a term fault: a reason and the sentinel it wraps.
type termError struct {
	reason string
	err    error
}

func (e *termError) Error() string { return e.reason }
func (e *termError) Unwrap() error { return e.err }

// ParseTerm parses a value of type term: "YYYY-MM-DD至YYYY-MM-DD",
// "YYYY-MM-DD至长期" or "长期". It fails with an error wrapping [ErrFormat]
// or, for a term that ends before it starts, [ErrRange].
func ParseTerm(s string) (Term, error) {
	t, te := parseTerm(s)
	if te != nil {
		return Term{}, te
	}
	return t, nil
}

func parseTerm(s string) (Term, *termError) {
	if s == LongTerm {
		return Term{LongTerm: true}, nil
	}
	start, end, ok := strings.Cut(s, termSep)
	if !ok {
		return Term{}, &termError{fmt.Sprintf("%s is not a term (want YYYY-MM-DD至YYYY-MM-DD, YYYY-MM-DD至长期 or 长期)", quote(s)), ErrFormat}
	}
	t := Term{}
	var okStart bool
	if t.Start, okStart = parseDate(start); !okStart {
		return Term{}, &termError{fmt.Sprintf("term %s: start %s is not a date (want YYYY-MM-DD)", quote(s), quote(start)), ErrFormat}
	}
	if end == LongTerm {
		t.LongTerm = true
		return t, nil
	}
	var okEnd bool
	if t.End, okEnd = parseDate(end); !okEnd {
		return Term{}, &termError{fmt.Sprintf("term %s: end %s is not a date (want YYYY-MM-DD or 长期)", quote(s), quote(end)), ErrFormat}
	}
	if t.End.Before(t.Start) {
		return Term{}, &termError{fmt.Sprintf("term %s ends before it starts", quote(s)), ErrRange}
	}
	return t, nil
}

// currencies that may precede or follow an amount.
var currencies = []string{"人民币", "美元", "欧元", "港元", "日元", "英镑"}

var decimalRE = regexp.MustCompile(`^(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6})?$`)

// validMoney accepts [currency] number [万|亿] [元] [currency] [整], with a
// currency or 元 present and at most one currency.
func validMoney(v string) bool {
	rest := strings.TrimSuffix(v, "整")
	unit := false
	for _, c := range currencies {
		if r, ok := strings.CutPrefix(rest, c); ok {
			rest, unit = r, true
			break
		}
	}
	if !unit {
		for _, c := range currencies {
			if r, ok := strings.CutSuffix(rest, c); ok {
				rest, unit = r, true
				break
			}
		}
	}
	if r, ok := strings.CutSuffix(rest, "元"); ok {
		rest, unit = r, true
	}
	if r, ok := strings.CutSuffix(rest, "万"); ok {
		rest = r
	} else if r, ok := strings.CutSuffix(rest, "亿"); ok {
		rest = r
	}
	return unit && decimalRE.MatchString(rest)
}

// provinces are the one-character abbreviations of the 31 mainland
// province-level divisions, as used on plates and licence numbers.
const provinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

var (
	plateRE = regexp.MustCompile(`^[` + provinces + `][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$`)
	phoneRE = regexp.MustCompile(`^(?:1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}(?:-[0-9]{1,6})?|1[0-9]{4}|9[0-9]{4}|[48]00-?[0-9]{3}-?[0-9]{4})$`)
	areaRE  = regexp.MustCompile(`^(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,4})?(?:㎡|m²|平方米)?$`)
)

// vinWeights are the ISO 3779 / GB 16735 position weights.
var vinWeights = [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

// vinValue transliterates a VIN character; I, O and Q are not allowed.
func vinValue(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'A' <= c && c <= 'H':
		return int(c-'A') + 1, true
	case 'J' <= c && c <= 'N':
		return int(c-'J') + 1, true
	case c == 'P':
		return 7, true
	case c == 'R':
		return 9, true
	case 'S' <= c && c <= 'Z':
		return int(c-'S') + 2, true
	}
	return 0, false
}

func checkVIN(v string) (string, error) {
	if len(v) != 17 {
		return fmt.Sprintf("%s has %d bytes, want 17 characters", quote(v), len(v)), ErrFormat
	}
	sum := 0
	for i := 0; i < 17; i++ {
		n, ok := vinValue(v[i])
		if !ok {
			return fmt.Sprintf("%s: character %q at position %d is not allowed (0-9, A-Z without I, O, Q)", quote(v), v[i], i+1), ErrFormat
		}
		sum += n * vinWeights[i]
	}
	want := byte('0' + sum%11)
	if sum%11 == 10 {
		want = 'X'
	}
	if v[8] != want {
		return fmt.Sprintf("%s: check character (position 9) is %q, want %q", quote(v), v[8], want), ErrFormat
	}
	return "", nil
}

// runeCountUpTo counts the runes of s, stopping at limit.
func runeCountUpTo(s string, limit int) int {
	n := 0
	for range s {
		n++
		if n >= limit {
			break
		}
	}
	return n
}

// quote quotes a value for a message, shortening a long one.
func quote(s string) string {
	const max = 64
	if runeCountUpTo(s, max+1) <= max {
		return strconv.Quote(s)
	}
	cut, n := 0, 0
	for i := range s {
		if n == max {
			cut = i
			break
		}
		n++
	}
	return strconv.Quote(s[:cut]) + "…"
}
