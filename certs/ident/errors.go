package ident

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors; every [*Error] wraps exactly one of them.
var (
	// ErrLength reports a value, or a part of one, with the wrong number
	// of characters.
	ErrLength = errors.New("ident: wrong length")
	// ErrCharset reports a character that is not allowed where it stands.
	ErrCharset = errors.New("ident: character not allowed")
	// ErrCheck reports a check character that does not match.
	ErrCheck = errors.New("ident: check character mismatch")
	// ErrDate reports a date that does not exist or is out of range.
	ErrDate = errors.New("ident: invalid date")
	// ErrFormat reports any other structural fault: a code outside its
	// table, a wrong root or separator, a wrong number of parts, a version
	// out of range.
	ErrFormat = errors.New("ident: malformed")
)

// Identifier kinds, as found in [Error.Kind].
const (
	kindUSCC       = "uscc"
	kindResidentID = "resident-id"
	kindOrgCode    = "org-code"
	kindLicenseID  = "license-id"
)

// Error describes why a value is not a valid identifier.
type Error struct {
	// Kind names the identifier: "uscc", "resident-id", "org-code" or
	// "license-id".
	Kind string
	// Value is the value that was validated, as given.
	Value string
	// Pos is the 0-based character (rune) index in Value of the fault, or
	// -1 when the fault has no single position (e.g. a wrong length).
	Pos int
	// Err is one of ErrLength, ErrCharset, ErrCheck, ErrDate, ErrFormat.
	Err error
	// Reason says precisely what is wrong, in ASCII-only English. A
	// position it names is relative to the part it names ("issuer code:
	// character 'I' at position 3 ..."), while Pos is relative to Value.
	Reason string
}

// maxQuoted is how many characters of Value Error quotes before eliding.
const maxQuoted = 128

// Error returns Kind, the quoted value and the reason, e.g.
//
//	uscc "91350100M000100Y4X": check character is 'X', want '3'
//
// The value is quoted with non-ASCII characters escaped, and a value longer
// than 128 characters is shortened.
func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	if e.Kind != "" {
		b.WriteString(e.Kind)
		b.WriteByte(' ')
	}
	b.WriteString(quoteValue(e.Value))
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

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

func quoteValue(v string) string {
	n := utf8.RuneCountInString(v)
	if n <= maxQuoted {
		return strconv.QuoteToASCII(v)
	}
	cut := 0
	for i := 0; i < maxQuoted; i++ {
		_, size := utf8.DecodeRuneInString(v[cut:])
		cut += size
	}
	return strconv.QuoteToASCII(v[:cut]) + fmt.Sprintf("...(%d characters)", n)
}

func newError(kind, value string, pos int, sentinel error, format string, args ...any) *Error {
	return &Error{Kind: kind, Value: value, Pos: pos, Err: sentinel, Reason: fmt.Sprintf(format, args...)}
}

// lengthError reports that value has n characters where want were expected.
func lengthError(kind, value string, n, want int) *Error {
	return newError(kind, value, -1, ErrLength, "has %d characters, want %d", n, want)
}

// badChar locates the first character of s (from character index 0) that
// allowed rejects. Non-ASCII characters and invalid UTF-8 bytes are always
// rejected. It returns the character index, the character and its
// description, and whether one was found.
func badChar(s string, allowed func(i int, c byte) bool) (pos int, c byte, desc string, found bool) {
	i := 0
	for off := 0; off < len(s); i++ {
		r, size := utf8.DecodeRuneInString(s[off:])
		if r >= utf8.RuneSelf {
			return i, 0, describeRune(r, size, s[off]), true
		}
		if !allowed(i, byte(r)) {
			return i, byte(r), describeRune(r, size, s[off]), true
		}
		off += size
	}
	return 0, 0, "", false
}

// describeRune renders a character for a message, ASCII-only.
func describeRune(r rune, size int, b byte) string {
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte 0x%02X (invalid UTF-8)", b)
	}
	return strconv.QuoteRuneToASCII(r)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// charsetError builds an ErrCharset error for the character desc at pos,
// adding a hint when the character is a lower-case letter.
func charsetError(kind, value string, pos int, c byte, desc, want string) *Error {
	if isLower(c) {
		return newError(kind, value, pos, ErrCharset,
			"character %s at position %d is lower-case; want %s", desc, pos, want)
	}
	return newError(kind, value, pos, ErrCharset,
		"character %s at position %d is not allowed; want %s", desc, pos, want)
}

// nested re-homes an error found in a part of a larger value: its position
// is shifted by off, its kind and value become those of the whole, and its
// reason is prefixed with what.
func nested(err error, kind, value string, off int, what string) *Error {
	var e *Error
	if !errors.As(err, &e) {
		return newError(kind, value, off, ErrFormat, "%s: %v", what, err)
	}
	pos := off // a fault of the whole part is placed at its start
	if e.Pos >= 0 {
		pos = off + e.Pos
	}
	return &Error{Kind: kind, Value: value, Pos: pos, Err: e.Err, Reason: what + ": " + e.Reason}
}
