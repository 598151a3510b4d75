package tsp

import (
	"errors"
	"fmt"
)

// ErrMalformed means the bytes are not a well-formed time-stamp token.
// Every error [Parse] returns is a [*MalformedError] that wraps it.
var ErrMalformed = errors.New("tsp: malformed time-stamp token")

// MalformedError says which element of a token is malformed, by the field
// names of RFC 3161 and RFC 5652, for example
//
//	tsp: TSTInfo.genTime: "2024-01-01": not a GeneralizedTime
type MalformedError struct {
	Path   string // e.g. "SignedData.encapContentInfo.eContentType"
	Reason string
}

func (e *MalformedError) Error() string { return "tsp: " + e.Path + ": " + e.Reason }

// Is reports ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(path, format string, args ...any) *MalformedError {
	return &MalformedError{Path: path, Reason: fmt.Sprintf(format, args...)}
}
