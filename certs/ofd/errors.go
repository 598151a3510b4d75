package ofd

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is; every error of this package wraps one.
var (
	// ErrZip means the bytes are not a readable zip container (or use a
	// feature refused here: encryption, an unknown compression method).
	ErrZip = errors.New("ofd: bad zip container")
	// ErrLimit means a limit of [Limits] was exceeded (a zip bomb, too
	// many entries, an over-long attribute, too deep XML).
	ErrLimit = errors.New("ofd: limit exceeded")
	// ErrPath means an entry name or an ST_Loc reference is unsafe:
	// absolute, climbing out, with a backslash, duplicated.
	ErrPath = errors.New("ofd: unsafe path")
	// ErrXML means a part is not well-formed strict XML in the OFD
	// namespace (a DTD, an entity, another namespace, bad UTF-8).
	ErrXML = errors.New("ofd: bad XML")
	// ErrStructure means a part is well-formed XML but not the OFD
	// structure it should be (a missing element, a bad value).
	ErrStructure = errors.New("ofd: bad structure")
	// ErrMissing means a part the structure names is not in the package.
	ErrMissing = errors.New("ofd: missing part")
)

// Error says which part of the package is at fault and why.
type Error struct {
	Part   string // the package path ("Doc_0/Document.xml"), or "" for the container
	Kind   error  // one of the sentinels
	Detail string
}

func (e *Error) Error() string {
	msg := e.Kind.Error()
	if e.Part != "" {
		msg += ": " + e.Part
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, part, format string, args ...any) *Error {
	return &Error{Part: part, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
