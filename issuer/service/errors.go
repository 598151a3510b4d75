package service

import (
	"errors"
	"fmt"
)

// Error kinds; the API maps each to an HTTP status.
var (
	ErrInvalid     = errors.New("invalid request")         // 400/422
	ErrForbidden   = errors.New("forbidden")               // 403
	ErrNotFound    = errors.New("not found")               // 404
	ErrConflict    = errors.New("conflict")                // 409
	ErrUnavailable = errors.New("temporarily unavailable") // 503
	ErrGone        = errors.New("gone")                    // 410: a request or grant that ended
)

// Reason codes of 授权用证's refusals (docs/consent.md), in Error.Code:
// the API answers them as its JSON code.
const (
	CodeRequestNotFound = "REQUEST_NOT_FOUND"
	CodeRequestExpired  = "REQUEST_EXPIRED"
	CodeRequestAnswered = "REQUEST_ANSWERED"
	CodeConsentInvalid  = "CONSENT_INVALID"
	CodeLicenceNotValid = "LICENCE_NOT_VALID"
	CodeRPSuspended     = "RP_SUSPENDED"
	CodeNotRegistered   = "NOT_REGISTERED"
	CodeGrantNotFound   = "GRANT_NOT_FOUND"
	CodeGrantRevoked    = "GRANT_REVOKED"
	CodeGrantExpired    = "GRANT_EXPIRED"
	CodeGrantUsed       = "GRANT_USED"
	CodeLicenceNotCopy  = "NOT_YOUR_LICENCE"
)

// Error is returned by the service: a kind for errors.Is, a message for
// people, the field concerned if any, and the cause (for example a
// *catalog.ValidationError listing every bad field).
type Error struct {
	Kind error
	// Code is a reason code (the Code constants) where the contract
	// names one; empty otherwise.
	Code  string
	Field string
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	s := e.Kind.Error() + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}
