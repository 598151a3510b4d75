package qr

import (
	"errors"
	"fmt"

	"elicense/certs/credential"
)

// Reasons particular to QR tokens. Reasons shared with full credentials
// (unknown key, unknown class, bad field, expired, not yet valid, class not
// allowed, issuer mismatch, key compromised) are credential's sentinels, so
// a verifier maps both kinds of failure onto one set of verdicts.
var (
	ErrMalformed          = credential.ErrMalformed
	ErrBadSignature       = credential.ErrBadSignature
	ErrUnsupportedVersion = errors.New("unsupported QR token version")
	ErrBadDeviceSignature = errors.New("bad device signature")
	ErrBadDisclosure      = errors.New("disclosed field does not match the issuer's commitment")
	ErrPresentationStale  = errors.New("presentation too old")
	ErrPresentationFuture = errors.New("presentation time is in the future")
	ErrBindingMismatch    = errors.New("token kind does not match the credential's binding")
)

// Error is returned by every function in this package: the reason (a
// sentinel above or from credential), the part of the token concerned, and
// the cause.
type Error struct {
	Reason error
	Field  string
	Err    error
}

func (e *Error) Error() string {
	msg := "qr: " + e.Reason.Error()
	if e.Field != "" {
		msg += fmt.Sprintf(" (%s)", e.Field)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes the reason and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func errf(reason error, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Err: fmt.Errorf(format, args...)}
}
