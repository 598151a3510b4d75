package catalog

import (
	"elicense/internal/chinatime"
	"errors"
	"fmt"
	"time"
)

// A DateKind says what a date, datetime or term field records, and so which
// dates it may hold. Every kind keeps dates within the years 1800 to 2199
// (a typing error otherwise); the kinds narrow that:
//
//	kind       meaning                                 earliest    latest
//	event      what happened to the holder:            1800-01-01  the day of issuance
//	           birth, founding (出生日期, 成立日期)
//	act        an act of a PRC authority: issue,       1949-10-01  the day of issuance
//	           approval, registration (发证日期,
//	           核准日期, 登记日期, 初次领证日期)
//	validity   a validity date or term (有效期至,       1949-10-01  2199-12-31
//	           有效期限, 营业期限, 检验有效期至)
//	(none)     any other date                          1800-01-01  2199-12-31
//
// The earliest dates and the ceiling are checked wherever a value is
// validated ([Field.Validate], [Class.Validate]), by issuers and verifiers
// alike. "The day of issuance" needs a clock, so only the issuer checks it,
// with [Class.ValidateAt]: a verifier whose clock lags must not refuse a
// licence issued today. The day is the calendar day in China (UTC+8), where
// licences are dated.
type DateKind string

// The date kinds.
const (
	DateAny      DateKind = ""
	DateEvent    DateKind = "event"
	DateAct      DateKind = "act"
	DateValidity DateKind = "validity"
)

// Valid reports whether k is a known date kind.
func (k DateKind) Valid() bool {
	return k == DateAny || k == DateEvent || k == DateAct || k == DateValidity
}

// past reports whether dates of kind k cannot be after the day of issuance.
func (k DateKind) past() bool { return k == DateEvent || k == DateAct }

// PRCFounded is the earliest date of an act of a PRC authority, and of a
// validity date: 1949-10-01.
var PRCFounded = time.Date(1949, time.October, 1, 0, 0, 0, 0, time.UTC)

// earliest is the first date a field of kind k may hold.
func (k DateKind) earliest() time.Time {
	if k == DateAct || k == DateValidity {
		return PRCFounded
	}
	return time.Date(minYear, time.January, 1, 0, 0, 0, 0, time.UTC)
}

// IssueDay is the calendar day in China at instant now, as a UTC midnight
// (the form dates are parsed to).
func IssueDay(now time.Time) time.Time {
	y, m, d := now.In(chinatime.Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// checkDateKind checks a well-formed date, datetime or term value against
// its field's earliest date (the ceiling of 2199 is the type's).
func checkDateKind(f *Field, v string) (string, error) {
	if f.Dates == DateAny {
		return "", nil
	}
	first := f.Dates.earliest()
	ds, n := fieldDates(f, v)
	for _, d := range ds[:n] {
		if d.Before(first) {
			return fmt.Sprintf("%s is before %s, the earliest %s date", quote(v), first.Format(DateLayout), f.Dates), ErrRange
		}
	}
	return "", nil
}

// fieldDates are the dates in a well-formed value of a date, datetime or
// term field (the day of a datetime, the start and end of a term), n of
// them; an array, not a slice, because verifiers validate every disclosed
// field and this must not allocate.
func fieldDates(f *Field, v string) (ds [2]time.Time, n int) {
	switch f.Type {
	case TypeDate:
		ds[0], _ = parseDate(v)
		return ds, 1
	case TypeDateTime:
		if len(v) < len(DateLayout) {
			return ds, 0
		}
		ds[0], _ = parseDate(v[:len(DateLayout)])
		return ds, 1
	case TypeTerm:
		t, te := parseTerm(v)
		if te != nil {
			return ds, 0
		}
		for _, d := range [2]time.Time{t.Start, t.End} {
			if !d.IsZero() {
				ds[n] = d
				n++
			}
		}
	}
	return ds, n
}

// ValidateAt is [Class.Validate] for a licence being issued at instant now:
// in addition, a date of kind event or act may not be after the day of
// issuance in China ([DateKind]). Issuers call it; verifiers, whose clocks
// may lag, call Validate.
func (cl *Class) ValidateAt(values map[string]string, now time.Time) error {
	err := cl.Validate(values)
	var ve *ValidationError
	if err != nil && !errors.As(err, &ve) {
		return err
	}
	bad := map[string]bool{}
	if ve != nil {
		for _, fe := range ve.Fields {
			bad[fe.Field] = true
		}
	}
	late := cl.lateDates(values, now, bad)
	if len(late) == 0 {
		return err
	}
	if ve == nil {
		ve = &ValidationError{Class: cl.Key}
	}
	ve.Fields = append(ve.Fields, late...)
	return ve
}

// CheckIssueDay is the part of ValidateAt that Validate lacks: it reports
// the dates of kind event or act in values that are after the day of
// issuance at now, and checks nothing else. An issuer that validates the
// record anyway (credential.NewLicense does) calls this instead of
// ValidateAt, so as not to validate every field twice.
func (cl *Class) CheckIssueDay(values map[string]string, now time.Time) error {
	if late := cl.lateDates(values, now, nil); len(late) > 0 {
		return &ValidationError{Class: cl.Key, Fields: late}
	}
	return nil
}

// lateDates lists the fields, other than those in skip, holding a date of
// kind event or act after the day of issuance at now.
func (cl *Class) lateDates(values map[string]string, now time.Time, skip map[string]bool) []FieldError {
	day := IssueDay(now)
	var late []FieldError
	for i := range cl.Fields {
		f := &cl.Fields[i]
		if !f.Dates.past() {
			continue
		}
		v := values[f.Key]
		if v == "" || skip[f.Key] {
			continue
		}
		ds, n := fieldDates(f, v)
		for _, d := range ds[:n] {
			if d.After(day) {
				late = append(late, *f.fail(ErrRange, fmt.Sprintf("%s is after the day of issuance (%s, China time): an %s date records what has already happened", quote(v), day.Format(DateLayout), f.Dates)))
				break
			}
		}
	}
	return late
}

// ParseIssuedOn parses a licence's date of issue (颁证日期), YYYY-MM-DD,
// as an issuer at instant now may set it: from 1949-10-01 to the day of
// issuance in China (an act of a PRC authority, [DateAct]). The error
// wraps [ErrFormat] or [ErrRange].
func ParseIssuedOn(s string, now time.Time) (time.Time, error) {
	d, ok := parseDate(s)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %s is not a date (want YYYY-MM-DD)", ErrFormat, quote(s))
	}
	day := IssueDay(now)
	switch {
	case d.Before(PRCFounded):
		return time.Time{}, fmt.Errorf("%w: %s is before %s", ErrRange, s, PRCFounded.Format(DateLayout))
	case d.After(day):
		return time.Time{}, fmt.Errorf("%w: %s is after today (%s, China time)", ErrRange, s, day.Format(DateLayout))
	}
	return d, nil
}
