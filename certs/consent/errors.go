package consent

import (
	"errors"
	"fmt"
)

// Reasons, tested with errors.Is. Every error this package returns is an
// *Error wrapping one of them.
var (
	// ErrMalformed: not a token of the expected form (JWS structure,
	// header, JSON, a claim missing, out of range or of the wrong shape).
	ErrMalformed = errors.New("consent: malformed")
	// ErrSignature: the signature does not verify with the key given.
	ErrSignature = errors.New("consent: bad signature")
	// ErrExpired: a time is outside its window (a proof's iat, a
	// request's exp, a licence's validity).
	ErrExpired = errors.New("consent: expired or not yet valid")
	// ErrMismatch: two things that must agree do not (method, path or
	// body of a proof; iss; request_sm3; aud, grant, licence, class).
	ErrMismatch = errors.New("consent: mismatch")
	// ErrWidened: more fields than allowed: a consent field the request
	// did not ask for, or a disclosed field the consent did not approve.
	// (A consented field not disclosed is ErrMismatch.)
	ErrWidened = errors.New("consent: fields not consented")
	// ErrRefused: the consent's decision is "refuse" where an approval is
	// needed.
	ErrRefused = errors.New("consent: the holder refused")
	// ErrField: a class or field the catalogue does not have, or a value
	// its validator refuses.
	ErrField = errors.New("consent: field not in the catalogue or invalid")
	// ErrUnknownKey: the kid names no key of the trust bundle.
	ErrUnknownKey = errors.New("consent: unknown key")
	// ErrKey: the key may not sign this: another agency's, not allowed
	// the class, or retired or compromised at the signing time.
	ErrKey = errors.New("consent: key not allowed")
	// ErrStatus: the licence copy's status is not valid, or could not be
	// read.
	ErrStatus = errors.New("consent: licence not valid")
)

// Error says which part of which token is wrong and why.
type Error struct {
	Token  string // "proof", "request", "consent", "credential" or "disclosure"
	Part   string // the claim or part at fault, e.g. "htu", "request_sm3", "_sd"
	Reason error  // one of the Err values above
	Detail string
	Err    error // the underlying error, if any (a certs/jws or gm error)
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%v: %s", e.Reason, e.Token)
	if e.Part != "" {
		s += " " + e.Part
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the reason and the underlying error, so errors.Is works
// with both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func errf(reason error, token, part, format string, args ...any) *Error {
	return &Error{Token: token, Part: part, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}
