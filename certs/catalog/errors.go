package catalog

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors wrapped by a [FieldError] for faults that are not about an
// identifier. Faults in a code-typed value (统一社会信用代码, 公民身份号码,
// 组织机构代码) wrap the [*ident.Error] from package ident instead.
var (
	// ErrRequired reports a required field that is absent or empty.
	ErrRequired = errors.New("catalog: required field missing")
	// ErrUnknownField reports a value for a field the class does not have.
	ErrUnknownField = errors.New("catalog: unknown field")
	// ErrTooLong reports a value with more characters than the field's max_len.
	ErrTooLong = errors.New("catalog: value too long")
	// ErrPattern reports a value that does not match the field's pattern.
	ErrPattern = errors.New("catalog: value does not match pattern")
	// ErrFormat reports a value that is not of the field's type: not a date,
	// not one of an enum's values, a stray control character, and so on.
	ErrFormat = errors.New("catalog: malformed value")
	// ErrRange reports a well-formed value outside its bounds: a number
	// beyond min or max, a term that ends before it starts, or a validity
	// term the class does not allow.
	ErrRange = errors.New("catalog: value out of range")
)

// A FieldError describes why one field's value is not valid.
type FieldError struct {
	Field  string // field key, e.g. "uscc"
	Label  string // field label as printed, e.g. "统一社会信用代码"
	Reason string // what is wrong, in English
	Err    error  // a sentinel of this package or an *ident.Error
}

// Error returns the field key, its label and the reason, e.g.
//
//	field "valid_until" (有效期至): not a date (want YYYY-MM-DD)
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("field ")
	b.WriteString(strconv.Quote(e.Field))
	if e.Label != "" {
		b.WriteString(" (")
		b.WriteString(e.Label)
		b.WriteString(")")
	}
	b.WriteString(": ")
	switch {
	case e.Reason != "":
		b.WriteString(e.Reason)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// A ValidationError lists every invalid field of a record checked by
// [Class.Validate], in the class's field order followed by unknown keys in
// sorted order.
type ValidationError struct {
	Class  string // class key
	Fields []FieldError
}

// Error joins the field errors, e.g.
//
//	catalog: class "business-license": 2 invalid fields: field "uscc" (…): …; field "name" (名称): required
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("catalog: class ")
	b.WriteString(strconv.Quote(e.Class))
	b.WriteString(": ")
	switch n := len(e.Fields); n {
	case 0:
		b.WriteString("invalid record")
		return b.String()
	case 1:
		b.WriteString("1 invalid field: ")
	default:
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" invalid fields: ")
	}
	for i := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Fields[i].Error())
	}
	return b.String()
}

// Unwrap returns every field error, so that [errors.Is] and [errors.As] see
// the sentinels and *ident.Error values inside.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i := range e.Fields {
		errs[i] = &e.Fields[i]
	}
	return errs
}
