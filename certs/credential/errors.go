package credential

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is. Every error Verify and Sign return wraps one.
var (
	ErrMalformed       = errors.New("malformed credential")
	ErrUnknownClass    = errors.New("unknown licence class")
	ErrBadField        = errors.New("bad field")
	ErrBadSignature    = errors.New("bad signature")
	ErrUnknownKey      = errors.New("unknown signing key")
	ErrExpired         = errors.New("licence expired")
	ErrNotYetValid     = errors.New("licence not yet valid")
	ErrClassNotAllowed = errors.New("issuer may not issue this class")
	ErrIssuerMismatch  = errors.New("issuer code does not match the signing key")
	ErrKeyCompromised  = errors.New("signed with a key after its compromise")
	ErrKeyNotValid     = errors.New("signed outside the key's validity")
	ErrKeyRetired      = errors.New("signed with a key after its retirement")
)

// Error is what Sign and Verify return: the reason (one of the sentinels),
// the field it concerns when there is one, and the underlying cause.
type Error struct {
	Reason error  // one of the Err* sentinels
	Field  string // claim or class field key, if the error concerns one
	Err    error  // underlying cause, may be nil
}

func (e *Error) Error() string {
	msg := "credential: " + e.Reason.Error()
	if e.Field != "" {
		msg += fmt.Sprintf(" %q", e.Field)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns both the reason and the cause, so errors.Is matches the
// sentinel and errors.As reaches, say, a *catalog.ValidationError.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func errf(reason error, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Err: fmt.Errorf(format, args...)}
}
