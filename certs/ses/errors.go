package ses

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is. Every error this package returns wraps one.
var (
	// ErrMalformed means the bytes are not a well-formed SES_Seal or
	// SES_Signature (of either version). The error is a *MalformedError
	// that names the element at fault.
	ErrMalformed = errors.New("ses: malformed structure")
	// ErrUnsupportedAlgorithm means a signature or digest algorithm other
	// than SM2 with SM3 (or SM3) is named.
	ErrUnsupportedAlgorithm = errors.New("ses: unsupported algorithm")
	// ErrBadSignature means a signature is well formed but does not verify
	// under the certificate that should have made it.
	ErrBadSignature = errors.New("ses: signature does not verify")
	// ErrBadCertificate means an embedded certificate does not parse as an
	// SM2 X.509 certificate.
	ErrBadCertificate = errors.New("ses: bad certificate")
	// ErrKeyMismatch means a signer's key is not the key of the
	// certificate it is to sign under.
	ErrKeyMismatch = errors.New("ses: signer key does not match the certificate")
	// ErrSignerNotInSeal means the signer certificate is not in the seal's
	// certList.
	ErrSignerNotInSeal = errors.New("ses: signer certificate is not in the seal's certificate list")
	// ErrSealNotValid means a signature time falls outside the seal's
	// validity (validStart..validEnd).
	ErrSealNotValid = errors.New("ses: seal not valid at the signing time")
	// ErrCertNotValid means the signing time falls outside a certificate's
	// validity.
	ErrCertNotValid = errors.New("ses: certificate not valid at the signing time")
	// ErrInvalidInput means a builder was given unusable parameters.
	ErrInvalidInput = errors.New("ses: invalid input")
)

// MalformedError says which element of a structure is malformed, by the
// field names of GB/T 38540 / GM/T 0031, for example
//
//	ses: SES_Seal.esealInfo.property.certList: want SEQUENCE, found INTEGER (tag 0x02)
type MalformedError struct {
	Path   string // e.g. "SES_Signature.toSign.eseal.esealInfo.esID"
	Reason string
}

func (e *MalformedError) Error() string { return "ses: " + e.Path + ": " + e.Reason }

// Is reports ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(path, format string, args ...any) *MalformedError {
	return &MalformedError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// wrapf returns an error wrapping sentinel with a message.
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
